"""Sub-account key rotation through the API, and the steps both flows share.

plan → create → save-pending → verify-new → switch-consumers → promote → revoke-old →
verify-old-dead → purge-previous (docs/security.md, "Rotation invariants"). The master flow
(``master_flow``) reuses the shared handlers and replaces ``create`` and ``revoke-old`` with guided
manual steps.
"""

from __future__ import annotations

from kutui.consumers.deliver import TargetProblem, deliver_recorded, read_target, tick
from kutui.errors import KucoinError, RotationError
from kutui.kucoin.client import KeyInfo
from kutui.kucoin.diagnosis import ADVICE, CODE_STATUS
from kutui.model import (
    SUB_KEY_PERMISSIONS,
    Consumer,
    Credential,
    DeliveryStatus,
    KeyRef,
    Registry,
    Slot,
    Status,
    clean_pasted,
    generate_passphrase,
)
from kutui.rotation.checklist import (
    BROKEN_KEY_CODES,
    Checklist,
    Flow,
    Step,
    StepKind,
    StepStatus,
)
from kutui.rotation.engine import (
    INVALID_KEY_CODE,
    Blocked,
    ConsumerPort,
    Engine,
    Handler,
    ManualInput,
    NeedsInput,
    StepFailed,
    describe,
    fingerprint_of,
    is_full,
    key_is_dead,
)
from kutui.secret import Secret
from kutui.store.vault import VaultData
from kutui.text import control_problem

#: Steps the user may skip, in either flow (kutui/rotation/master_flow.py uses the same steps):
#: a bot the user switches by hand, and a previous key kept on purpose.
SKIPPABLE = frozenset({"switch-consumers", "purge-previous"})


def split_ips(text: str) -> list[str]:
    return [e.strip() for e in text.split(",") if e.strip()]


def ip_whitelist_problem(planned: str, old_masked: str) -> str | None:
    """Why ``planned`` cannot be the new key's whitelist, given the old key's (masked) one.

    KuCoin shows whitelists masked (``203.**.154``), so the full list comes from the registry or
    the user; an old key bound to IPs must never be replaced by an unbound one.
    """
    import ipaddress

    entries = split_ips(planned)
    old = split_ips(old_masked)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} in the IP whitelist is not an IP address or network"
    if len(entries) > 20:
        return "KuCoin allows at most 20 IPs in a whitelist"
    hint = "give the full list (kutui rotate --ip-whitelist IPS, or the IP field on screen)"
    if old and not entries:
        return (
            f"the old key is bound to {len(old)} IP(s) ({old_masked}), which KuCoin shows only "
            f"masked; {hint}"
        )
    if old and len(old) != len(entries):
        return (
            f"the old key is bound to {len(old)} IP(s) ({old_masked}), not {len(entries)}; {hint}"
        )
    return None


STEPS: tuple[tuple[str, str, StepKind, str], ...] = (
    (
        "plan",
        "Plan the rotation",
        StepKind.AUTOMATIC,
        "Check the old key still works, record its permissions, IP whitelist and expiry, and "
        "store a new random API passphrase in the vault (PENDING) before anything is sent.",
    ),
    (
        "create",
        "Create the new key",
        StepKind.AUTOMATIC,
        "Create a key on the sub-account with the master key (POST /api/v1/sub/api-key), the same "
        "permissions, IP whitelist and expiry, and a remark naming this rotation.",
    ),
    (
        "save-pending",
        "Save the new key",
        StepKind.AUTOMATIC,
        "Confirm the new key and secret are in the vault as PENDING "
        "(KuCoin shows the secret only once).",
    ),
    (
        "verify-new",
        "Verify the new key",
        StepKind.AUTOMATIC,
        "Call key info with the new key: permissions, uid and sub-account must match. Retries "
        "while KuCoin propagates the IP whitelist.",
    ),
    (
        "switch-consumers",
        "Switch consumers",
        StepKind.MANUAL,
        "Point every bot or tool that uses this key at the new credentials (kutui keeps the old "
        "key working until you confirm). Tick each consumer once it runs on the new key.",
    ),
    (
        "promote",
        "Make the new key current",
        StepKind.AUTOMATIC,
        "One vault write: the new key becomes CURRENT, the old key PREVIOUS.",
    ),
    (
        "revoke-old",
        "Delete the old key",
        StepKind.AUTOMATIC,
        "Delete the old key on KuCoin with the master key (DELETE /api/v1/sub/api-key).",
    ),
    (
        "verify-old-dead",
        "Confirm the old key is dead",
        StepKind.AUTOMATIC,
        "Call key info with the old key: KuCoin must answer 400003 (key does not exist).",
    ),
    (
        "purge-previous",
        "Forget the old key",
        StepKind.AUTOMATIC,
        "Remove the old credentials (PREVIOUS) from the vault.",
    ),
)


def build_steps(templates: tuple[tuple[str, str, StepKind, str], ...]) -> list[Step]:
    return [Step(id=i, title=t, kind=k, instructions=text) for i, t, k, text in templates]


# --------------------------------------------------------------------------- shared handlers


async def plan_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    """Verify the old key (so a working key is known), fix the plan, store the new passphrase.

    A sub-account key whose own credentials fail (``BROKEN_KEY_CODES``) is looked up through the
    master key instead, and the checklist records why (``Checklist.old_key_broken``)."""
    ck = engine.checklist
    old = engine.slot(Slot.CURRENT)
    if old is None or not is_full(old):
        raise StepFailed("the vault holds no CURRENT credentials for this key")
    pending = engine.slot(Slot.PENDING)
    if is_full(pending):
        raise StepFailed(
            "the vault already holds a PENDING key for this key that this rotation did not create; "
            "abort this rotation or remove that PENDING entry first"
        )
    ck.old_fingerprint = fingerprint_of(old)
    found = ""  # what the plan learned of a broken old key, and from where
    try:
        info: KeyInfo | None = await engine.ctx.remote.api_key_info(old)
        ck.old_key_broken = ""  # its credentials were fixed since an earlier attempt
    except KucoinError as exc:
        if exc.code not in BROKEN_KEY_CODES:
            raise StepFailed(
                f"the old key does not work: {describe(exc)}; fix it before rotating"
            ) from None
        if ck.flow is Flow.MASTER:
            raise StepFailed(_broken_master_key_note(engine, exc)) from None
        # Its own credentials fail, but the master key can still see it, replace it and delete it.
        ck.old_key_broken = exc.code
        info = await _listed(engine, _master(engine), old.api_key.reveal())
        listed = "listed" if info is not None else "not listed"
        found = f"{ck.broken_summary}; …{ck.old_fingerprint} is {listed} on {ck.sub_name}"
    uid: int | None
    if info is not None:
        is_master, uid, sub_name = info.is_master, info.uid, info.sub_name
        seen, old_whitelist = info.permissions, info.ip_whitelist
    else:
        # Gone from KuCoin: what kutui recorded of it is all there is (the new key is verified
        # against the sub-account's name, which KuCoin reports for it).
        is_master, old_whitelist = False, ""
        uid, sub_name, seen = _recorded(engine)
        found += f" (gone; permissions as kutui last saw them: {','.join(seen) or 'none'})"
    if ck.flow is Flow.SUB and is_master:
        raise StepFailed("KuCoin reports this key as a master-account key; use the master flow")
    if ck.flow is Flow.MASTER and not is_master:
        raise StepFailed("KuCoin reports this key as a sub-account key; use the sub-account flow")
    ck.uid = uid
    ck.sub_name = ck.sub_name or sub_name
    if not ck.permissions:
        ck.permissions = tuple(p for p in seen if p != "")
    dropped = ""
    if ck.flow is Flow.SUB:
        allowed = tuple(p for p in ck.permissions if p in SUB_KEY_PERMISSIONS)
        extra = sorted(set(ck.permissions) - set(allowed))
        if extra and inputs is not None and inputs.confirm:  # the TUI's confirm
            ck.permissions_dropped = tuple(sorted({*ck.permissions_dropped, *extra}))
        refused = [p for p in extra if p not in ck.permissions_dropped]
        if refused:
            # Never silently: a key that could withdraw would come back unable to.
            names = ",".join(refused)
            flags = " ".join(f"--drop-permission {p}" for p in refused)
            raise NeedsInput(
                f"the old key has {names}, which KuCoin's API cannot give a new sub-account key; "
                f"accept dropping it (kutui rotate {ck.key_ref} --resume {flags}, or confirm "
                "here), or abort and create the new key in KuCoin's web UI"
            )
        if extra:
            dropped = f"; dropped as you chose (not settable through the API): {','.join(extra)}"
        ck.permissions = allowed or ("General",)
        whitelist_problem = ip_whitelist_problem(ck.ip_whitelist, old_whitelist)
        if whitelist_problem:
            raise StepFailed(whitelist_problem)

        def store_passphrase(data: VaultData) -> None:
            # Kept across a crash: the plan may run again, but create has not been sent yet.
            if data.get(engine.key_id, Slot.PENDING) is None:
                data.put(
                    engine.key_id,
                    Credential(
                        api_key=Secret(""),
                        api_secret=Secret(""),
                        passphrase=generate_passphrase(),
                        saved_at=engine.ctx.now(),
                    ),
                    Slot.PENDING,
                )

        engine.ctx.vault.update(store_passphrase)
    whitelist = ck.ip_whitelist or "none"
    expiry = "never" if ck.expire_days < 0 else f"{ck.expire_days} days"
    return (
        f"{found or f'old key …{ck.old_fingerprint} works'}: {','.join(ck.permissions)}; "
        f"uid {ck.uid if ck.uid is not None else 'unknown'}; "
        f"IP whitelist {whitelist}; expiry {expiry}{dropped}"
    )


def _recorded(engine: Engine) -> tuple[int | None, str, tuple[str, ...]]:
    """The old key's uid, sub-account and permissions as the registry holds them."""
    registry = engine.ctx.registry.registry()
    key = registry.key_by_id(engine.key_id)
    if key is None:
        return None, engine.checklist.sub_name, ()
    account = registry.account(key.ref.account)
    subs = account.subaccounts if account is not None else []
    uid = next((s.uid for s in subs if s.name == key.ref.sub), None)
    return uid, key.ref.sub, key.permissions_seen


def _broken_master_key_note(engine: Engine, exc: KucoinError) -> str:
    ck = engine.checklist
    meaning, todo = ADVICE[CODE_STATUS.get(exc.code, Status.UNREACHABLE)]
    return (
        f"the master key …{ck.old_fingerprint} fails its own check "
        f"({BROKEN_KEY_CODES[exc.code]}, {exc.code}): {meaning}. KuCoin has no API for master "
        f"keys, so nothing can stand in for it: {todo}; or create a new master key in KuCoin's "
        f"web UI (API Management), store it (kutui key add {_account(ck)}/LABEL) and abort this "
        f"rotation (kutui rotate {ck.key_ref} --abort)"
    )


def _account(ck: Checklist) -> str:
    return KeyRef.parse(ck.key_ref).account


async def save_pending_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    pending = engine.slot(Slot.PENDING)
    if not is_full(pending):
        create = engine.checklist.step("create")
        create.status = StepStatus.PENDING
        create.note = "the new key was not found in the vault; create runs again"
        engine.checklist.refresh_current()
        raise StepFailed("the new key is not in the vault; run the create step again")
    engine.checklist.new_fingerprint = fingerprint_of(pending)
    return f"new key …{engine.checklist.new_fingerprint} saved as PENDING"


async def verify_new_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    pending = engine.slot(Slot.PENDING)
    if pending is None or not is_full(pending):
        current = engine.slot(Slot.CURRENT)
        if fingerprint_of(current) == ck.new_fingerprint and ck.new_fingerprint:
            return f"new key …{ck.new_fingerprint} already current"
        raise StepFailed("no new key in the vault to verify")
    problems = await verify_credential(engine, pending)
    if problems:
        raise StepFailed("; ".join(problems))
    return (
        f"new key …{fingerprint_of(pending)} verified: {','.join(ck.permissions)}; "
        f"uid {ck.uid if ck.uid is not None else 'unknown'}"
        + (f"; sub-account {ck.sub_name}" if ck.sub_name else "")
    )


async def verify_credential(engine: Engine, cred: Credential) -> list[str]:
    """Key info with ``cred``; retries while an IP whitelist propagates. Returns the problems."""
    ck = engine.checklist
    delays = list(engine.ctx.verify_delays)
    while True:
        try:
            info = await engine.ctx.remote.api_key_info(cred)
            break
        except KucoinError as exc:
            if exc.status in ("ip_denied", "unreachable", "rate_limited") and delays:
                await engine.ctx.sleep(delays.pop(0))
                continue
            return [f"the new key does not work: {describe(exc)}"]
    problems: list[str] = []
    if fingerprint_of(cred) and info.api_key and info.api_key[-4:] != fingerprint_of(cred):
        problems.append("KuCoin answered for a different key")
    missing = sorted(set(ck.permissions) - set(info.permissions))
    if missing:
        problems.append(f"the new key lacks {','.join(missing)}")
    if ck.uid is not None and info.uid != ck.uid:
        problems.append(f"the new key belongs to uid {info.uid}, not {ck.uid}")
    if ck.flow is Flow.SUB:
        if info.is_master:
            problems.append("the new key is a master-account key")
        if ck.sub_name and info.sub_name != ck.sub_name:
            problems.append(f"the new key is on sub-account {info.sub_name!r}, not {ck.sub_name!r}")
    elif not info.is_master:
        problems.append("the new key is not a master-account key")
    return problems


def consumer_records(engine: Engine) -> dict[str, Consumer]:
    """The key's consumer records by name (a name in the checklist without one is manual)."""
    port = engine.ctx.consumers
    if port is None:
        return {}
    return {c.name: c for c in port.consumers(engine.key_id)}


def _automatic(records: dict[str, Consumer], name: str) -> bool:
    record = records.get(name)
    return record is not None and record.kind.automatic


def _new_credential(engine: Engine) -> Credential | None:
    ck = engine.checklist
    for slot in (Slot.PENDING, Slot.CURRENT):
        cred = engine.slot(slot)
        if is_full(cred) and fingerprint_of(cred) == ck.new_fingerprint and ck.new_fingerprint:
            return cred
    return None


async def switch_consumers_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    """Deliver the new key to every automatic consumer (written, read back, reloaded), then wait
    for a person to tick each manual one. Each delivery is saved as it succeeds: a crash in the
    middle delivers the rest on resume, and the old key works until every consumer is switched."""
    ck = engine.checklist
    if not ck.consumers:
        if inputs is not None and inputs.confirm:
            return "confirmed: every user of this key now uses …" + ck.new_fingerprint
        raise NeedsInput(
            "No consumers are listed for this key: confirm that whatever uses this key now "
            f"uses the new key …{ck.new_fingerprint}."
        )
    records = consumer_records(engine)
    port = engine.ctx.consumers
    failures: list[str] = []
    for name in ck.consumers:
        if name in ck.consumers_switched or not _automatic(records, name) or port is None:
            continue
        cred = _new_credential(engine)
        if cred is None:
            raise StepFailed("the new key is not in the vault; abort this rotation")
        outcome = deliver_recorded(port, records[name], cred, engine.ctx.now)
        if outcome.status is DeliveryStatus.DELIVERED:
            ck.consumers_switched = (*ck.consumers_switched, name)
            engine.save(f"{step.id}:delivered")
        else:
            failures.append(f"{name}: {outcome.status}: {outcome.detail}")
    if failures:
        raise StepFailed(
            "; ".join(failures) + "; the old key still works: fix this and resume, or abort "
            "(the old key is written back where the new one went)"
        )
    if inputs is not None:
        if inputs.consumer:
            if inputs.consumer not in ck.consumers:
                raise StepFailed(f"{inputs.consumer!r} is not a consumer of this key")
            if _automatic(records, inputs.consumer):
                raise StepFailed(f"{inputs.consumer} is switched by kutui itself")
            _tick(engine, port, records, inputs.consumer)
        elif inputs.confirm:
            for name in ck.consumers:
                if not _automatic(records, name):
                    _tick(engine, port, records, name)
    left = [c for c in ck.consumers if c not in ck.consumers_switched]
    if left:
        raise NeedsInput(
            f"Switch to the new key …{ck.new_fingerprint} by hand, then tick: {', '.join(left)} "
            f"(the new key: kutui key show {ck.key_ref} --pending --reveal)"
        )
    automatic = [c for c in ck.consumers if _automatic(records, c)]
    manual = [c for c in ck.consumers if c not in automatic]
    parts = []
    if automatic:
        parts.append("delivered and read back: " + ", ".join(automatic))
    if manual:
        parts.append("ticked by you: " + ", ".join(manual))
    return "; ".join(parts)


def _tick(
    engine: Engine, port: ConsumerPort | None, records: dict[str, Consumer], name: str
) -> None:
    ck = engine.checklist
    if name in ck.consumers_switched:
        return
    ck.consumers_switched = (*ck.consumers_switched, name)
    if port is not None and name in records:
        tick(port, records[name], ck.new_fingerprint, engine.ctx.now())


def delete_prompt(engine: Engine) -> str:
    """The question before the old key is deleted: both keys and every consumer's state."""
    ck = engine.checklist
    records = consumer_records(engine)
    lines = [
        f"Delete the old key …{ck.old_fingerprint} on KuCoin now? The new key "
        f"…{ck.new_fingerprint} is CURRENT; once deleted, anything still on the old key stops."
    ]
    for name in ck.consumers:
        record = records.get(name)
        last = record.last_delivery if record is not None else None
        kind = record.kind if record is not None else "manual"
        if last is not None:
            state = f"{last.status} …{last.fingerprint}"
        else:
            state = "ticked" if name in ck.consumers_switched else "not switched"
        lines.append(f"  {name} ({kind}): {state}")
    if not ck.consumers:
        lines.append("  no consumers are declared for this key")
    return "\n".join(lines)


async def promote_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    pending = engine.slot(Slot.PENDING)
    if pending is not None and is_full(pending) and fingerprint_of(pending) == ck.new_fingerprint:
        # Time has passed since verify-new (consumers were switched by hand): the new key may
        # have been deleted or restricted meanwhile, and promoting it would lead to deleting the
        # only working key. Check it again right before it becomes CURRENT.
        problems = await verify_credential(engine, pending)
        if problems:
            raise StepFailed(
                "; ".join(problems) + "; the old key stays CURRENT (abort this rotation and start "
                "a new one)"
            )

    def promote(data: VaultData) -> str:
        current = data.get(engine.key_id, Slot.CURRENT)
        pending = data.get(engine.key_id, Slot.PENDING)
        if pending is not None and current is not None and pending.api_key == current.api_key:
            # Full keys compared: a fingerprint match proves nothing. Promoting would leave the
            # old key as CURRENT and PREVIOUS, and the next step would have it deleted.
            raise StepFailed(
                "the PENDING key is the CURRENT key, not a new one; abort this rotation and "
                "start a new one"
            )
        if is_full(pending) and fingerprint_of(pending) == ck.new_fingerprint:
            data.promote(engine.key_id)
            return "promoted"
        if fingerprint_of(current) == ck.new_fingerprint and pending is None:
            return "already current"
        raise StepFailed("the vault holds neither the new key as PENDING nor as CURRENT")

    outcome = engine.ctx.vault.update(promote)

    def record(registry: Registry) -> None:
        key = registry.key_by_id(engine.key_id)
        if key is None:
            return
        key.fingerprint = ck.new_fingerprint
        key.permissions_seen = ck.permissions
        key.remark = ck.remark if ck.flow is Flow.SUB else key.remark
        verified = engine.checklist.step("verify-new").done_at
        key.created_at = key.added_at = verified or engine.ctx.now()
        key.has_secret = True
        key.last_check = None

    engine.ctx.registry.update_registry(record)
    return (
        f"new key …{ck.new_fingerprint} is CURRENT, "
        f"old key …{ck.old_fingerprint} PREVIOUS ({outcome})"
    )


async def require_old_key_dead(engine: Engine, *, still_works: str) -> None:
    """Key info with the old (PREVIOUS) credentials must answer 400003; ``still_works`` says
    what to do when it does not."""
    previous = engine.slot(Slot.PREVIOUS)
    if previous is None:
        raise StepFailed("the old key is no longer in the vault; it cannot be checked")
    try:
        dead = await key_is_dead(engine.ctx.remote, previous)
    except KucoinError as exc:
        raise StepFailed(f"could not check the old key: {describe(exc)}") from None
    if not dead:
        raise StepFailed(
            f"the old key …{engine.checklist.old_fingerprint} still works; {still_works}"
        )


async def verify_old_dead_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    if ck.old_key_broken:
        # Its own key info fails either way (400004 while it exists): the listing decides.
        previous = engine.slot(Slot.PREVIOUS)
        if previous is None:
            raise StepFailed("the old key is no longer in the vault; it cannot be checked")
        if await _listed(engine, _master(engine), previous.api_key.reveal()) is not None:
            raise StepFailed(
                f"the old key …{ck.old_fingerprint} is still listed on {ck.sub_name}; delete it "
                "first"
            )
        return f"old key …{ck.old_fingerprint} is not listed on {ck.sub_name} (master key)"
    await require_old_key_dead(engine, still_works="delete it first")
    return f"old key …{engine.checklist.old_fingerprint} gets 400003 (does not exist)"


async def purge_previous_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    def purge(data: VaultData) -> None:
        if data.get(engine.key_id, Slot.PREVIOUS) is not None:
            data.drop(engine.key_id, Slot.PREVIOUS)

    engine.ctx.vault.update(purge)
    return f"old key …{engine.checklist.old_fingerprint} removed from the vault"


# --------------------------------------------------------------------------- sub-only handlers


#: Statuses with which the master key itself is refused (not the request, not the network).
_MASTER_REFUSED = frozenset(
    {
        Status.INVALID_KEY,
        Status.BAD_PASSPHRASE,
        Status.BAD_SECRET,
        Status.IP_DENIED,
        Status.PERMISSION_DENIED,
        Status.UNSUPPORTED_VERSION,
        Status.FROZEN,
    }
)


def _master_hint(ck: Checklist) -> str:
    return (
        f"fix it (kutui check {_account(ck)}), or store a working one with kutui key add "
        f"{_account(ck)}/LABEL, then kutui rotate {ck.key_ref} --resume"
    )


def _master(engine: Engine) -> Credential:
    ck = engine.checklist
    cred = engine.ctx.master()
    if cred is None:
        raise Blocked(
            f"no master-account key of {_account(ck)} is stored, and a sub-account key is "
            "created and deleted with one",
            hint=_master_hint(ck),
        )
    return cred


async def _listed(engine: Engine, master: Credential, api_key: str) -> KeyInfo | None:
    """The key as the master key's listing of the sub-account shows it; None when not listed."""
    ck = engine.checklist
    try:
        rows = await engine.ctx.remote.sub_api_keys(master, ck.sub_name, api_key)
    except KucoinError as exc:
        if exc.status in _MASTER_REFUSED:
            raise Blocked(
                f"{ck.broken_summary or 'the old key is looked up through the master key'}, and "
                f"the master key of {_account(ck)} fails too: {describe(exc)}",
                hint=_master_hint(ck),
            ) from None
        raise StepFailed(
            f"could not list the keys of {ck.sub_name} with the master key: {describe(exc)}; "
            "try again"
        ) from None
    return next((row for row in rows if row.api_key == api_key), None)


async def _delete_tagged(engine: Engine, passphrase: Secret) -> int:
    """Delete every key on the sub-account carrying this rotation's remark (a lost create)."""
    ck = engine.checklist
    master = _master(engine)
    keys = await engine.ctx.remote.sub_api_keys(master, ck.sub_name)
    tagged = [k for k in keys if k.remark == ck.remark]
    for key in tagged:
        try:
            await engine.ctx.remote.delete_sub_api_key(
                master, sub_name=ck.sub_name, api_key=key.api_key, passphrase=passphrase
            )
        except KucoinError as exc:
            if exc.code != "400003":
                raise
    return len(tagged)


async def create_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    pending = engine.slot(Slot.PENDING)
    if pending is None:
        raise StepFailed("the plan's passphrase is missing from the vault; abort and start again")
    if is_full(pending):
        ck.new_fingerprint = fingerprint_of(pending)
        return (
            f"new key …{ck.new_fingerprint} adopted (its secret was saved before an interruption)"
        )
    master = _master(engine)
    evidence_prefix = ""
    # A previous attempt may have sent the request and lost the answer (its secret is lost for
    # good): find it by its remark and delete it before creating again.
    removed = await _delete_tagged(engine, pending.passphrase)
    if removed:
        evidence_prefix = f"{removed} key(s) from an interrupted create deleted; "
    created = await engine.ctx.remote.create_sub_api_key(
        master,
        sub_name=ck.sub_name,
        passphrase=pending.passphrase,
        remark=ck.remark,
        permission=",".join(ck.permissions),
        ip_whitelist=ck.ip_whitelist,
        expire=ck.expire_days,
    )

    def save(data: VaultData) -> None:
        data.put(
            engine.key_id,
            Credential(
                api_key=created.api_key,
                api_secret=created.api_secret,
                passphrase=pending.passphrase,
                api_version=created.api_version,
                saved_at=engine.ctx.now(),
            ),
            Slot.PENDING,
        )

    engine.ctx.vault.update(save)
    ck.new_fingerprint = created.api_key.reveal()[-4:]
    return (
        f"{evidence_prefix}new key …{ck.new_fingerprint} created on {ck.sub_name} "
        f"with remark {ck.remark}: {','.join(created.permissions)}"
    )


async def revoke_old_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    previous = engine.slot(Slot.PREVIOUS)
    if previous is None:
        raise StepFailed("the old key is no longer in the vault; it cannot be deleted from here")
    if not ck.delete_confirmed:
        if inputs is None or not inputs.confirm:
            step.started_at = None  # only asked: nothing was sent
            raise NeedsInput(delete_prompt(engine))
        ck.delete_confirmed = True
        engine.save(f"{step.id}:confirmed")
    await _grace(engine)
    if ck.old_key_broken:
        return await _revoke_through_master(engine, previous, inputs)
    remote = engine.ctx.remote
    try:
        if await key_is_dead(remote, previous):
            return f"old key …{ck.old_fingerprint} already gone (400003)"
    except KucoinError:
        pass  # unknown: try the delete, then look again
    master = _master(engine)
    try:
        await remote.delete_sub_api_key(
            master,
            sub_name=ck.sub_name,
            api_key=previous.api_key.reveal(),
            passphrase=previous.passphrase,
        )
    except KucoinError as exc:
        if exc.code == "400003":
            return f"old key …{ck.old_fingerprint} already gone (400003)"
        if exc.status != "unreachable":
            raise StepFailed(f"KuCoin refused the delete: {describe(exc)}") from None
        # Outcome unknown: the key-info answer with the old credentials decides.
        try:
            if await key_is_dead(remote, previous):
                return f"old key …{ck.old_fingerprint} deleted (confirmed by 400003)"
        except KucoinError as again:
            raise StepFailed(f"delete outcome unknown: {describe(again)}; try again") from None
        raise StepFailed("the delete did not go through; try again") from None
    return f"old key …{ck.old_fingerprint} deleted from {ck.sub_name} (DELETE 200000)"


def wants_old_passphrase(ck: Checklist) -> bool:
    """Whether the old key's delete waits for its API passphrase: the key failed its own check,
    the delete was confirmed, and KuCoin refused the delete with the stored passphrase."""
    return (
        ck.flow is Flow.SUB
        and bool(ck.old_key_broken)
        and ck.current == "revoke-old"
        and ck.awaiting == "revoke-old"
        and ck.delete_confirmed
    )


async def _revoke_through_master(
    engine: Engine, previous: Credential, inputs: ManualInput | None
) -> str:
    """Delete an old key whose own credentials fail: the master key's listing says whether it is
    still there (its own key info cannot). The delete needs the key's API passphrase; when the
    stored one is the broken part, the user types the right one, or deletes the key in the web
    UI and resumes."""
    ck = engine.checklist
    master = _master(engine)
    api_key = previous.api_key.reveal()
    where = f"{ck.sub_name} (master key's listing)"
    if await _listed(engine, master, api_key) is None:
        return f"old key …{ck.old_fingerprint} already gone: not listed on {where}"
    typed = inputs.passphrase if inputs is not None and inputs.passphrase else None
    passphrase = Secret(clean_pasted(typed.reveal())) if typed is not None else previous.passphrase
    problem = control_problem(passphrase.reveal()) if typed is not None else None
    if problem:  # never sent: it would travel in the DELETE's query
        raise NeedsInput(f"the passphrase you typed {problem}; type the old key's API passphrase")
    try:
        await engine.ctx.remote.delete_sub_api_key(
            master, sub_name=ck.sub_name, api_key=api_key, passphrase=passphrase
        )
    except KucoinError as exc:
        if exc.code == INVALID_KEY_CODE:
            return f"old key …{ck.old_fingerprint} already gone (400003)"
        if exc.status in _MASTER_REFUSED:
            raise Blocked(
                f"the master key of {_account(ck)} cannot delete the old key: {describe(exc)}",
                hint=_master_hint(ck),
            ) from None
        # A 4xx with a code KuCoin does not classify (400100 "Invalid passphrase of the API
        # key" from the simulator): the request was refused, so nothing was deleted.
        if exc.code and exc.status == Status.UNREACHABLE and 0 < exc.http_status < 500:
            which = "the passphrase you typed" if typed is not None else "the stored passphrase"
            raise NeedsInput(
                f"KuCoin refused to delete the old key …{ck.old_fingerprint} with {which}: "
                f"{describe(exc)}. The delete needs the old key's API passphrase: type it when "
                f"asked (the rotation screen's field, or kutui rotate {ck.key_ref} --resume on a "
                f"terminal), or delete the key …{ck.old_fingerprint} of sub-account "
                f"{ck.sub_name} in KuCoin's web UI (API Management) and confirm again: kutui "
                "then sees it gone."
            ) from None
        if await _listed(engine, master, api_key) is None:
            return f"old key …{ck.old_fingerprint} deleted (confirmed: not listed on {where})"
        raise StepFailed(f"the delete did not go through ({describe(exc)}); try again") from None
    return (
        f"old key …{ck.old_fingerprint} deleted from {ck.sub_name} through the master key "
        "(DELETE 200000)"
    )


async def _grace(engine: Engine) -> None:
    """Wait out ``delete_grace`` seconds from the promotion (the rest of it after a resume)."""
    grace = engine.ctx.delete_grace
    promoted = engine.checklist.step("promote").done_at
    if grace <= 0 or promoted is None:
        return
    remaining = (promoted - engine.ctx.now()).total_seconds() + grace
    if remaining > 0:
        engine.save("revoke-old:grace")
        await engine.ctx.sleep(remaining)


HANDLERS: dict[str, Handler] = {
    "plan": plan_step,
    "create": create_step,
    "save-pending": save_pending_step,
    "verify-new": verify_new_step,
    "switch-consumers": switch_consumers_step,
    "promote": promote_step,
    "revoke-old": revoke_old_step,
    "verify-old-dead": verify_old_dead_step,
    "purge-previous": purge_previous_step,
}


def new_checklist(
    rotation_id: str,
    key_id: str,
    key_ref: str,
    *,
    sub_name: str,
    ip_whitelist: str = "",
    expire_days: int = -1,
    consumers: tuple[str, ...] = (),
    permissions: tuple[str, ...] = (),
) -> Checklist:
    checklist = Checklist(
        id=rotation_id,
        key_id=key_id,
        key_ref=key_ref,
        flow=Flow.SUB,
        steps=build_steps(STEPS),
        sub_name=sub_name,
        ip_whitelist=ip_whitelist,
        expire_days=expire_days,
        consumers=consumers,
        permissions=permissions,
    )
    checklist.refresh_current()
    return checklist


async def abort(engine: Engine, reason: str) -> str:
    """Undo what was done: the old key ends CURRENT, a new remote key is deleted, PENDING dropped.

    Refused once the old key's delete has started (it may be gone: the new key must stay).
    """
    ck = engine.checklist
    engine.require_open()
    revoke = ck.step("revoke-old")
    if revoke.started_at is not None or revoke.status.closed:
        # The old key may be gone: only a key that still answers may become CURRENT again.
        previous = engine.slot(Slot.PREVIOUS)
        alive = False
        if previous is not None and not revoke.status.closed:
            try:
                alive = not await key_is_dead(engine.ctx.remote, previous)
            except KucoinError:
                alive = False
        if not alive:
            raise RotationError(
                "the old key's delete has started; the rotation can only be finished now",
                hint=f"kutui rotate {ck.key_ref} --resume",
            )
    messages: list[str] = _deliver_old_back(engine)
    _demote_if_promoted(engine)
    pending = engine.slot(Slot.PENDING)
    if ck.flow is Flow.SUB and pending is not None:
        create = ck.step("create")
        try:
            if is_full(pending) and not await key_is_dead(engine.ctx.remote, pending):
                await engine.ctx.remote.delete_sub_api_key(
                    _master(engine),
                    sub_name=ck.sub_name,
                    api_key=pending.api_key.reveal(),
                    passphrase=pending.passphrase,
                )
                messages.append(f"new key …{fingerprint_of(pending)} deleted on KuCoin")
            elif create.started_at is not None:
                removed = await _delete_tagged(engine, pending.passphrase)
                if removed:
                    messages.append(f"{removed} key(s) from an interrupted create deleted")
        except KucoinError as exc:
            if exc.code != "400003":
                raise RotationError(
                    f"could not delete the new key on KuCoin: {describe(exc)}",
                    hint="nothing was dropped; run the abort again",
                ) from None
        except StepFailed as failed:
            hint = failed.hint if isinstance(failed, Blocked) else ""
            raise RotationError(failed.note, hint=hint) from None
    elif ck.flow is Flow.MASTER and is_full(pending):
        messages.append(
            f"delete the new key …{fingerprint_of(pending)} in KuCoin's web UI (API Management)"
        )

    def drop(data: VaultData) -> None:
        if data.get(engine.key_id, Slot.PENDING) is not None:
            data.drop(engine.key_id, Slot.PENDING)

    engine.ctx.vault.update(drop)
    summary = "; ".join(messages) or "nothing was created"
    engine.mark_aborted(f"{reason.strip() or 'aborted'} ({summary})")
    return summary


def _deliver_old_back(engine: Engine) -> list[str]:
    """Before anything else is undone: every automatic consumer the new key may have reached
    gets the old key again (a failure stops the abort with nothing else undone)."""
    ck = engine.checklist
    port = engine.ctx.consumers
    records = consumer_records(engine)
    old = next(
        (
            cred
            for cred in (engine.slot(Slot.CURRENT), engine.slot(Slot.PREVIOUS))
            if is_full(cred) and fingerprint_of(cred) == ck.old_fingerprint
        ),
        None,
    )
    messages: list[str] = []
    for name in ck.consumers:
        record = records.get(name)
        if record is None or port is None:
            if name in ck.consumers_switched:
                messages.append(f"switch {name} back to the old key …{ck.old_fingerprint}")
            continue
        if not record.kind.automatic:
            if name in ck.consumers_switched:
                messages.append(f"switch {name} back to the old key …{ck.old_fingerprint}")
            continue
        last = record.last_delivery
        reached = name in ck.consumers_switched or (
            last is not None
            and (
                last.status is DeliveryStatus.DELIVERING  # interrupted: it may hold either key
                or (
                    bool(ck.new_fingerprint)
                    and last.fingerprint == ck.new_fingerprint
                    and (
                        last.status is not DeliveryStatus.FAILED
                        or _holds(record, ck.new_fingerprint)
                    )
                )
            )
        )
        if not reached:
            continue
        if old is None:
            raise RotationError(f"the old key is not in the vault; {name} cannot get it back")
        if name in ck.consumers_switched:
            # Saved before the write: a resume after a crash here delivers the new key again.
            ck.consumers_switched = tuple(c for c in ck.consumers_switched if c != name)
            _reopen(engine, "switch-consumers")
            engine.save("switch-consumers:undoing")
        outcome = deliver_recorded(port, record, old, engine.ctx.now)
        if outcome.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.RELOAD_FAILED):
            raise RotationError(
                f"could not write the old key back to {name}: {outcome.detail}",
                hint="fix it and abort again; nothing else was undone",
            )
        messages.append(f"old key …{ck.old_fingerprint} written back to {name}")
    if ck.consumers_switched:
        ck.consumers_switched = ()
        engine.save("switch-consumers:undone")
    return messages


def _reopen(engine: Engine, step_id: str) -> None:
    """An abort undid this step: a resume after a crash in the abort runs it again."""
    step = engine.checklist.step(step_id)
    if step.status.closed:
        step.status = StepStatus.PENDING
        step.done_at = None
        step.evidence = ""
        engine.checklist.refresh_current()


def _holds(consumer: Consumer, key_fingerprint: str) -> bool:
    """Whether a consumer whose delivery failed holds the new key all the same (a write whose
    read-back failed): a file that cannot even be read never got it."""
    if not consumer.kind.is_file:
        return False
    try:
        values = read_target(consumer)
    except TargetProblem:
        return False
    return values is not None and str(values[0]).endswith(key_fingerprint)


def _demote_if_promoted(engine: Engine) -> None:
    """After promote and before the delete: put the old key back as CURRENT in one write."""
    ck = engine.checklist

    def demote(data: VaultData) -> bool:
        current = data.get(engine.key_id, Slot.CURRENT)
        previous = data.get(engine.key_id, Slot.PREVIOUS)
        if previous is None or fingerprint_of(current) != ck.new_fingerprint:
            return False
        if current is not None:
            data.put(engine.key_id, current, Slot.PENDING)
        data.put(engine.key_id, previous, Slot.CURRENT)
        data.drop(engine.key_id, Slot.PREVIOUS)
        return True

    if engine.ctx.vault.update(demote):
        _reopen(engine, "promote")
        engine.save("promote:undone")

        def record(registry: Registry) -> None:
            key = registry.key_by_id(engine.key_id)
            if key is not None:
                key.fingerprint = ck.old_fingerprint

        engine.ctx.registry.update_registry(record)
