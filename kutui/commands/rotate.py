"""``kutui rotate REF [--resume] [--abort] [--yes]`` and ``kutui rotate --list``.

Walks the rotation checklist in a plain terminal: automatic steps run and print their evidence,
manual steps print their instructions and ask (``getpass`` for credentials). The checklist is saved
after every transition, so Ctrl-C or a dropped SSH link is resumed with ``--resume``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag

if TYPE_CHECKING:
    from collections.abc import Callable

    from kutui.rotation.checklist import Checklist
    from kutui.rotation.engine import ManualInput
    from kutui.rotation.session import Session

#: ``kutui rotate --list --json``: ``{"schema": 1, "rotations": [...]}`` (kutui/data/schemas/).
JSON_SCHEMA_VERSION = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rotate",
        help="rotate one key step by step (resumable)",
        description="Rotate a key: create and verify a new one, switch its users, then delete the "
        "old one. Sub-account keys are rotated through the API; master keys are created and "
        "deleted in KuCoin's web UI while kutui guides and verifies. The checklist is saved after "
        "every step; run again with --resume after an interruption.",
    )
    parser.add_argument("ref", nargs="?", metavar="REF", help="ACCOUNT/LABEL or ACCOUNT/SUB/LABEL")
    parser.add_argument("--resume", action="store_true", help="continue the key's open rotation")
    parser.add_argument(
        "--abort",
        action="store_true",
        help="abort the key's open rotation: the old key stays current, a new key is deleted",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="confirm what kutui checked itself, and the old key's delete (never a manual "
        "consumer: name those with --switched)",
    )
    parser.add_argument(
        "--switched",
        action="append",
        default=[],
        metavar="NAME",
        help="the manual consumer NAME now uses the new key (repeatable)",
    )
    parser.add_argument(
        "--drop-permission",
        action="append",
        default=[],
        metavar="NAME",
        help="accept that the new key lacks NAME (a permission KuCoin's API cannot set; "
        "repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list open rotations")
    add_json_flag(parser)
    parser.add_argument(
        "--ip-whitelist",
        metavar="IPS",
        help="comma-separated IP whitelist for the new key (default: the old key's, if known)",
    )
    parser.add_argument("--reason", default="aborted from the command line", help=argparse.SUPPRESS)
    parser.set_defaults(func=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home
    from kutui.errors import UsageError
    from kutui.ops import rotations

    home = load_home(args)
    if args.list:
        return _list(rotations.open_rotations(home), as_json=args.json)
    if args.json:
        raise UsageError("--json goes with --list")
    if not args.ref:
        raise UsageError("name the key to rotate (ACCOUNT/LABEL or ACCOUNT/SUB/LABEL), or --list")
    if args.resume and args.abort:
        raise UsageError("--resume and --abort exclude each other")
    import asyncio

    from kutui.commands.common import open_vault
    from kutui.kucoin.client import ClientPool
    from kutui.rotation.session import find_key

    key = find_key(home, args.ref)
    vault = open_vault(args, home)

    async def go() -> int:
        pool = ClientPool(timeout=home.config.checks.timeout_seconds)
        session_box: list[Session] = []
        printer = _Printer(lambda: session_box[0] if session_box else None)
        try:
            session = rotations.open_session(
                home,
                vault,
                pool,
                key.id,
                mode="resume" if args.resume or args.abort else "start",
                ip_whitelist=None if args.abort else args.ip_whitelist,
                on_save=printer,
            )
            if args.abort:
                print(f"{(await rotations.abort(session, args.reason)).summary}")
                kept = session.checklist.old_fingerprint or key.fingerprint
                print(f"{key.ref} keeps its old key …{kept}")
                return 0
            if args.resume:
                print(f"resuming rotation {session.checklist.id} of {key.ref}")
            else:
                print(
                    f"rotation {session.checklist.id} of {key.ref} ({session.checklist.flow} key)"
                )
            if session.checklist.broken_summary:
                print(session.checklist.broken_summary)
            session_box.append(session)
            if args.drop_permission:
                session.drop_permissions(args.drop_permission)
            return await _walk(session, yes=args.yes, switched=args.switched)
        finally:
            await pool.aclose()

    with rotations.key_lock(home, key.id):
        return asyncio.run(go())


class _Printer:
    """Prints each step as it closes (the ``on_save`` hook): title, then its evidence."""

    def __init__(self, session: Callable[[], Session | None]) -> None:
        self.session = session

    def __call__(self, label: str) -> None:
        step_id, _, status = label.partition(":")
        current = self.session()
        if current is not None and label == "revoke-old:grace":
            grace = current.engine.ctx.delete_grace
            print(f"waiting out the grace period ({grace:.0f} s) before the delete", flush=True)
        if current is None or status not in ("done", "skipped", "failed"):
            return
        step = current.checklist.step(step_id)
        mark = {"done": "✓", "skipped": "-", "failed": "✗"}[status]
        detail = step.evidence if status == "done" else step.note
        print(f"{mark} {step.title}: {detail}", flush=True)


async def _walk(session: Session, *, yes: bool, switched: list[str] | None = None) -> int:
    from kutui.rotation.checklist import StepStatus

    step = await session.run()
    while step is not None:
        if step.status is StepStatus.FAILED and step.kind == "automatic":
            print(f"the rotation stopped at '{step.title}'; fix the cause, then use --resume")
            return 1
        inputs = _ask(session, yes=yes, switched=switched or [])
        step = await session.submit(inputs)
        failed = step is not None and step.status is StepStatus.FAILED
        if failed and not _interactive():
            return 1
    print(
        f"rotation {session.checklist.id} finished: {session.checklist.key_ref} now uses …"
        f"{session.checklist.new_fingerprint}"
    )
    return 0


def _interactive() -> bool:
    from kutui.commands.common import is_tty

    return is_tty()


def _ask(session: Session, *, yes: bool, switched: list[str] | None = None) -> ManualInput:
    """The input the current manual step needs, from the flags or the terminal."""
    from kutui.commands.common import secret_prompt
    from kutui.errors import RotationError
    from kutui.rotation.engine import ManualInput
    from kutui.rotation.sub_flow import wants_old_passphrase

    checklist = session.checklist
    step = checklist.current_step()
    if step is None:  # pragma: no cover - _walk only asks while a step is open
        raise RotationError("the rotation has no open step")
    print(f"\n== {step.title} ==\n{step.instructions}")
    if step.note:
        print(step.note)
    needs_credentials = checklist.flow == "master" and step.id == "create"
    if needs_credentials:
        from kutui.rotation.master_flow import offer_passphrase

        if not _interactive():
            raise RotationError(
                f"step '{step.title}' needs the new credentials typed on a terminal",
                hint=f"run 'kutui rotate {checklist.key_ref} --resume' on a terminal",
            )
        print(offer_passphrase())
        return ManualInput(
            api_key=secret_prompt("New API key"),
            api_secret=secret_prompt("New API secret"),
            passphrase=secret_prompt("New API passphrase"),
        )
    ref = checklist.key_ref
    if checklist.awaiting == "plan":  # permissions the API cannot set: only --drop-permission
        raise RotationError(
            "the plan stopped: nothing was created",
            hint="rerun with --drop-permission NAME to accept, or --abort",
        )
    if step.id == "switch-consumers" and step.status == "failed":
        raise RotationError(
            "a consumer could not be given the new key; the old key still works",
            hint=f"fix it, then 'kutui rotate {ref} --resume' (or --abort)",
        )
    if step.id == "switch-consumers" and checklist.consumers:
        left = [c for c in checklist.consumers if c not in checklist.consumers_switched]
        named = [c for c in left if c in (switched or [])]
        if named:
            return ManualInput(consumer=named[0])
        if not _interactive():
            raise RotationError(
                f"waiting for a person to switch {', '.join(left)} (--yes never ticks a manual "
                "consumer)",
                hint=f"see the new key with 'kutui key show {ref} --pending --reveal', switch "
                f"them, then 'kutui rotate {ref} --resume --switched NAME'",
            )
        consumer = left[0]
        print(f"(the new key: kutui key show {ref} --pending --reveal)")
        if _yes_no(f"Is {consumer} using the new key …{checklist.new_fingerprint}?"):
            return ManualInput(consumer=consumer)
        raise RotationError(
            f"{consumer} still uses the old key; the old key stays current",
            hint=f"switch it, then run 'kutui rotate {ref} --resume'",
        )
    if wants_old_passphrase(checklist):
        # --yes cannot answer this: only the key's passphrase (or a delete in the web UI) can.
        fingerprint = checklist.old_fingerprint
        if not _interactive():
            raise RotationError(
                f"the old key …{fingerprint}'s delete needs its API passphrase, typed on a "
                "terminal",
                hint=f"run 'kutui rotate {ref} --resume' on a terminal, or delete the key in "
                f"KuCoin's web UI and run 'kutui rotate {ref} --resume'",
            )
        typed = secret_prompt(f"API passphrase of the old key …{fingerprint} (empty: stop)")
        if not typed.reveal():
            raise RotationError(
                f"the old key …{fingerprint} was not deleted",
                hint=f"delete it in KuCoin's web UI, then run 'kutui rotate {ref} --resume'",
            )
        return ManualInput(confirm=True, passphrase=typed)
    if yes:
        return ManualInput(confirm=True)
    if not _interactive():
        raise RotationError(
            f"step '{step.title}' waits for your confirmation",
            hint=f"run 'kutui rotate {ref} --resume' on a terminal, or add --yes",
        )
    if checklist.awaiting == "revoke-old":
        if _yes_no(f"Delete the old key …{checklist.old_fingerprint} now?"):
            return ManualInput(confirm=True)
        raise RotationError(
            f"the old key …{checklist.old_fingerprint} was not deleted; it still works",
            hint=f"run 'kutui rotate {ref} --resume' to delete it, or --abort",
        )
    if _yes_no("Done?"):
        return ManualInput(confirm=True)
    raise RotationError(
        f"stopped at '{step.title}'; nothing was changed",
        hint=f"run 'kutui rotate {checklist.key_ref} --resume' when it is done",
    )


def _yes_no(question: str) -> bool:
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def rotation_json(checklist: Checklist) -> dict[str, Any]:
    step = checklist.current_step()
    return {
        "id": checklist.id,
        "ref": checklist.key_ref,
        "key_id": checklist.key_id,
        "flow": str(checklist.flow),
        "state": str(checklist.state),
        "step": step.id if step else None,
        "step_title": step.title if step else None,
        "step_status": str(step.status) if step else None,
        "old_fingerprint": checklist.old_fingerprint,
        "new_fingerprint": checklist.new_fingerprint,
        "created_at": checklist.created_at.isoformat(),
        "updated_at": checklist.updated_at.isoformat(),
    }


def _list(rotations: list[Checklist], *, as_json: bool = False) -> int:
    from kutui.commands.common import print_json, print_table

    if as_json:
        print_json(
            {"schema": JSON_SCHEMA_VERSION, "rotations": [rotation_json(c) for c in rotations]}
        )
        return 0
    if not rotations:
        print("no open rotations")
        return 0
    rows = []
    for c in rotations:
        step = c.current_step()
        rows.append(
            (
                c.id,
                c.key_ref,
                str(c.flow),
                step.title if step else "-",
                str(step.status) if step else "-",
                c.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
        )
    print_table(("rotation", "key", "flow", "step", "status", "updated"), rows)
    return 0
