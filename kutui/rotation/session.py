"""One rotation as the CLI and the TUI drive it: start or resume, run, submit input, skip, abort.

Wires a checklist to its flow's handlers, and builds the ``Context`` from a kutui home, an open
vault and a client pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from kutui.errors import KeyNotFound, RotationError
from kutui.kucoin.client import ClientPool
from kutui.model import ApiKey, Credential, Slot, Status
from kutui.rotation import master_flow, sub_flow
from kutui.rotation.checklist import Checklist, Flow, Step, new_rotation_id
from kutui.rotation.engine import (
    ConsumerPort,
    Context,
    Engine,
    Handler,
    ManualInput,
    RegistryPort,
    VaultPort,
    consumers_for,
)
from kutui.rotation.store import RotationStore


def handlers_for(flow: Flow) -> dict[str, Handler]:
    return master_flow.HANDLERS if flow is Flow.MASTER else sub_flow.HANDLERS


@dataclass
class Session:
    engine: Engine

    @property
    def checklist(self) -> Checklist:
        return self.engine.checklist

    @property
    def skippable(self) -> frozenset[str]:
        return sub_flow.SKIPPABLE  # the same steps in both flows

    async def run(self) -> Step | None:
        """Run automatic steps until one needs the user, fails, or the rotation ends."""
        return await self.engine.run_automatic()

    async def submit(self, inputs: ManualInput) -> Step | None:
        """Give the current (manual) step its input, then carry on automatically if it closed."""
        step = await self.engine.run_current(inputs)
        if step is not None and step.status.closed:
            return await self.run()
        return step

    def set_ip_whitelist(self, ips: str) -> None:
        """Give the new key's IP whitelist (KuCoin shows the old one only masked)."""
        create = self.checklist.step("create")
        if create.started_at is not None or create.status.closed:
            raise RotationError("the new key exists already; its IP whitelist is fixed")
        problem = sub_flow.ip_whitelist_problem(ips, "")
        if problem:
            raise RotationError(problem)
        self.checklist.ip_whitelist = ",".join(sub_flow.split_ips(ips))
        self.engine.save("plan:ip-whitelist")

    def drop_permissions(self, names: list[str]) -> None:
        """Accept that the new key lacks ``names`` (permissions KuCoin's API cannot set)."""
        from kutui.model import PERMISSIONS

        unknown = [n for n in names if n not in PERMISSIONS]
        if unknown:
            raise RotationError(
                f"{', '.join(unknown)} is not a KuCoin permission",
                hint=f"known: {', '.join(PERMISSIONS)}",
            )
        create = self.checklist.step("create")
        if create.started_at is not None or create.status.closed:
            raise RotationError("the new key exists already; its permissions are fixed")
        self.checklist.permissions_dropped = tuple(
            sorted({*self.checklist.permissions_dropped, *names})
        )
        self.engine.save("plan:drop-permissions")

    def skip(self, reason: str) -> None:
        step = self.checklist.current_step()
        if step is None:
            raise RotationError("nothing left to skip")
        self.engine.skip(step.id, reason, self.skippable)

    async def abort(self, reason: str) -> str:
        return await sub_flow.abort(self.engine, reason)


def start(
    ctx: Context,
    key: ApiKey,
    *,
    ip_whitelist: str | None = None,
    rotation_id: str | None = None,
) -> Session:
    """A new rotation of ``key``; refused while another one of the same key is open."""
    existing = ctx.store.open_for_key(key.id)
    if existing is not None:
        raise RotationError(
            f"{key.ref} already has an open rotation ({existing.id})",
            hint=f"resume it: kutui rotate {key.ref} --resume, or abort it with --abort",
        )
    if ctx.vault.data.get(key.id, Slot.CURRENT) is None:
        raise RotationError(f"{key.ref} has no stored credentials to rotate")
    rid = rotation_id or new_rotation_id(ctx.now())
    consumer_names = tuple(c.name for c in consumers_for(ctx.consumers, key))
    whitelist = key.ip_whitelist_seen if ip_whitelist is None else ip_whitelist
    if ip_whitelist is None and sub_flow.ip_whitelist_problem(whitelist, "") is not None:
        # A health check records KuCoin's masked list (10.**.3): not usable for the new key, nor
        # typeable into the web UI's form (master flow). Start empty, so the plan step asks for
        # the full list instead.
        whitelist = ""
    if key.ref.sub:
        checklist = sub_flow.new_checklist(
            rid,
            key.id,
            str(key.ref),
            sub_name=key.ref.sub,
            ip_whitelist=whitelist,
            expire_days=key.expire_days,
            consumers=consumer_names,
        )
    else:
        checklist = master_flow.new_checklist(
            rid, key.id, str(key.ref), ip_whitelist=whitelist, consumers=consumer_names
        )
    checklist.created_at = ctx.now()
    engine = Engine(checklist, ctx, handlers_for(checklist.flow))
    engine.save("created")
    return Session(engine)


def resume(ctx: Context, key_id: str) -> Session:
    checklist = ctx.store.open_for_key(key_id)
    if checklist is None:
        raise RotationError("no open rotation for this key")
    return Session(Engine(checklist, ctx, handlers_for(checklist.flow)))


def find_key(registry_port: RegistryPort, ref_or_id: str) -> ApiKey:
    from kutui.model import KeyRef

    registry = registry_port.registry()
    key = registry.key_by_id(ref_or_id)
    if key is not None:
        return key
    try:
        ref = KeyRef.parse(ref_or_id)
    except ValueError as exc:
        raise KeyNotFound(str(exc)) from None
    key = registry.key(ref)
    if key is None:
        raise KeyNotFound(f"no key {ref} in the registry")
    return key


def master_credential(
    registry_port: RegistryPort, vault: VaultPort, account: str
) -> Credential | None:
    """The account's master key for sub-account key management (a healthy one first)."""
    registry = registry_port.registry()
    candidates = [k for k in registry.keys_under(account, "") if not k.ref.sub]
    candidates.sort(key=lambda k: (k.status is not Status.OK, str(k.ref)))
    for key in candidates:
        cred = vault.data.get(key.id, Slot.CURRENT)
        if cred is not None:
            return cred
    return None


def context_for(
    home: RegistryPort,
    store: RotationStore,
    vault: VaultPort,
    pool: ClientPool,
    key: ApiKey,
    *,
    verify_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
    consumers: ConsumerPort | None = None,
    delete_grace: float = 0.0,
) -> Context:
    """``consumers`` and ``delete_grace`` default to the home's (a ``Home``) and its config."""
    account = home.registry().account(key.ref.account)
    if account is None:
        raise KeyNotFound(f"no account {key.ref.account!r} in the registry")
    return Context(
        store=store,
        vault=vault,
        registry=home,
        remote=pool.get(account.api_url),
        master=lambda: master_credential(home, vault, key.ref.account),
        verify_delays=verify_delays,
        consumers=consumers if consumers is not None else _consumer_port(home),
        delete_grace=delete_grace or _grace_of(home),
    )


def _consumer_port(home: RegistryPort) -> ConsumerPort | None:
    from kutui.store.home import Home

    return home if isinstance(home, Home) else None


def _grace_of(home: RegistryPort) -> float:
    from kutui.store.home import Home

    return float(home.config.rotation.delete_grace_seconds) if isinstance(home, Home) else 0.0
