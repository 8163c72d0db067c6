"""Master-account key rotation: KuCoin has no API for master keys, so the user creates and deletes
them in the web UI while kutui stores, verifies and promotes (docs/security.md, "Rotation
invariants").

The steps are the sub flow's, with ``create`` and ``revoke-old`` manual. New credentials are typed
by the user (password inputs / getpass), saved as PENDING at once, then verified; a wrong value
leaves the step open and the old key CURRENT.
"""

from __future__ import annotations

from kutui.model import Credential, Slot, clean_pasted, credential_problem
from kutui.rotation.checklist import Checklist, Flow, Step, StepKind
from kutui.rotation.engine import (
    Engine,
    Handler,
    ManualInput,
    NeedsInput,
    StepFailed,
    fingerprint_of,
    is_full,
)
from kutui.rotation.sub_flow import (
    HANDLERS as SUB_HANDLERS,
)
from kutui.rotation.sub_flow import (
    build_steps,
    plan_step,
    require_old_key_dead,
    verify_credential,
)
from kutui.secret import Secret
from kutui.store.vault import VaultData

CREATE_INSTRUCTIONS = """\
1. Log in to kucoin.com with the account that owns this key.
2. Open API Management (profile menu).
3. Click Create API and choose an API for API trading.
4. Name the key (for example {remark}).
5. Set a new API passphrase: 7 to 32 characters, no spaces, not your login or trading password.
6. Choose the same permissions: {permissions}.
7. IP restriction: {ips}.
8. Generate the key and pass the security check.
9. Copy the API key and the secret now: KuCoin shows the secret only once.
Then enter the key, the secret and the passphrase here; kutui verifies them at once."""

REVOKE_INSTRUCTIONS = """\
1. Log in to kucoin.com and open API Management.
2. Find the old key ending in …{old} (the new one ends in …{new}).
3. Delete it and pass the security check.
Then confirm here; kutui checks that KuCoin now answers 400003 for the old key."""

STEPS: tuple[tuple[str, str, StepKind, str], ...] = (
    (
        "plan",
        "Plan the rotation",
        StepKind.AUTOMATIC,
        "Check the old key still works and record its permissions and IP whitelist.",
    ),
    ("create", "Create the new key in KuCoin's web UI", StepKind.MANUAL, CREATE_INSTRUCTIONS),
    (
        "verify-new",
        "Verify the new key",
        StepKind.AUTOMATIC,
        "Call key info with the new key: permissions and uid must match, and it must be a "
        "master-account key.",
    ),
    (
        "switch-consumers",
        "Switch consumers",
        StepKind.MANUAL,
        "Point every bot or tool that uses this key at the new credentials. Tick each consumer "
        "once it runs on the new key.",
    ),
    (
        "promote",
        "Make the new key current",
        StepKind.AUTOMATIC,
        "One vault write: the new key becomes CURRENT, the old key PREVIOUS.",
    ),
    ("revoke-old", "Delete the old key in KuCoin's web UI", StepKind.MANUAL, REVOKE_INSTRUCTIONS),
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


def offer_passphrase() -> str:
    """The line a front end shows with the ``create`` step: a fresh random passphrase for KuCoin's
    form (``kutui.model.generate_passphrase``, as sub-key rotation uses).

    Shown, never stored: step instructions are saved with the checklist (kutui/rotation/store.py)
    and this may become the new key's passphrase, so each showing generates a new one and the
    passphrase reaches the vault only when the user types it back with the new key.
    """
    from kutui.model import generate_passphrase

    return (
        f"Suggested API passphrase (not saved; copy it into KuCoin's form): "
        f"{generate_passphrase().reveal()}"
    )


async def master_plan_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    evidence = await plan_step(engine, step, inputs)
    ck = engine.checklist
    ck.step("create").instructions = CREATE_INSTRUCTIONS.format(
        remark=ck.remark,
        permissions=", ".join(ck.permissions) or "General",
        ips=ck.ip_whitelist or "the same as the old key (none recorded)",
    )
    return evidence


def _clean(value: Secret | None) -> str:
    return clean_pasted(value.reveal()) if value is not None else ""


# Which stored key an API key typed as "the new one" must not be, with what to tell the user.
_NOT_NEW = (
    (Slot.CURRENT, "that is the old key; create a new one in the web UI"),
    (Slot.PREVIOUS, "that is the key before the old one; create a new one in the web UI"),
)


def _known_key_refusal(engine: Engine, api_key: Secret) -> str:
    """Why ``api_key`` cannot be the new key, or "". Full keys are compared (constant time, via
    ``Secret``'s equality): two keys may share a fingerprint, which is for display only."""
    for slot, refusal in _NOT_NEW:
        stored = engine.slot(slot)
        if stored is not None and stored.api_key == api_key:
            return refusal
    return ""


async def manual_create_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    pending = engine.slot(Slot.PENDING)
    if inputs is None or not inputs.has_credentials:
        # Entered before an interruption: verify what was saved instead of asking again.
        refusal = _known_key_refusal(engine, pending.api_key) if pending is not None else ""
        if refusal:  # saved by an older kutui that compared fingerprints only
            raise StepFailed(refusal + "; enter the new key's credentials")
        saved_works = (
            pending is not None
            and is_full(pending)
            and not await verify_credential(engine, pending)
        )
        if saved_works:
            ck.new_fingerprint = fingerprint_of(pending)
            return f"new key …{ck.new_fingerprint} entered and answered key info"
        raise NeedsInput(
            "Create the key in KuCoin's web UI, then enter its API key, secret and passphrase."
        )
    api_key, api_secret, passphrase = (
        _clean(inputs.api_key),
        _clean(inputs.api_secret),
        _clean(inputs.passphrase),
    )
    problem = credential_problem(api_key, api_secret, passphrase)
    if problem:
        raise StepFailed(problem + "; enter the credentials again")
    typed_key = Secret(api_key)
    refusal = _known_key_refusal(engine, typed_key)
    if refusal:
        raise StepFailed(refusal)
    cred = Credential(
        api_key=typed_key,
        api_secret=Secret(api_secret),
        passphrase=Secret(passphrase),
        saved_at=engine.ctx.now(),
    )

    # Saved before verification: if the process dies now, what the user typed is not lost.
    def save(data: VaultData) -> None:
        data.put(engine.key_id, cred, Slot.PENDING)

    engine.ctx.vault.update(save)
    ck.new_fingerprint = fingerprint_of(cred)
    problems = await verify_credential(engine, cred)
    if problems:
        raise StepFailed("; ".join(problems) + "; enter the credentials again")
    return f"new key …{ck.new_fingerprint} entered and answered key info"


async def manual_revoke_step(engine: Engine, step: Step, inputs: ManualInput | None) -> str:
    ck = engine.checklist
    step.instructions = REVOKE_INSTRUCTIONS.format(old=ck.old_fingerprint, new=ck.new_fingerprint)
    if inputs is None or not inputs.confirm:
        raise NeedsInput(f"Delete the old key …{ck.old_fingerprint} in the web UI, then confirm.")
    await require_old_key_dead(engine, still_works="delete it in the web UI")
    return f"old key …{ck.old_fingerprint} deleted in the web UI (KuCoin answers 400003)"


HANDLERS: dict[str, Handler] = {
    **SUB_HANDLERS,
    "plan": master_plan_step,
    "create": manual_create_step,
    "revoke-old": manual_revoke_step,
}
del HANDLERS["save-pending"]


def new_checklist(
    rotation_id: str,
    key_id: str,
    key_ref: str,
    *,
    ip_whitelist: str = "",
    consumers: tuple[str, ...] = (),
    permissions: tuple[str, ...] = (),
) -> Checklist:
    checklist = Checklist(
        id=rotation_id,
        key_id=key_id,
        key_ref=key_ref,
        flow=Flow.MASTER,
        steps=build_steps(STEPS),
        ip_whitelist=ip_whitelist,
        consumers=consumers,
        permissions=permissions,
    )
    checklist.refresh_current()
    return checklist
