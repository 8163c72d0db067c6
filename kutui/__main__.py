from kutui.cli import main

raise SystemExit(main())
