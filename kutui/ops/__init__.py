"""The use cases both front ends call (docs/architecture.md, "Layers")."""
