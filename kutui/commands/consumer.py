"""``kutui consumer add|list|remove``, ``kutui deliver`` and ``kutui key show``.

Parse and print only: the use cases are in ``kutui.ops.consumers``. ``key show`` hides the secret
values unless ``--reveal``, and even then prints them only to a terminal, or to a pipe with
``--to-pipe`` (as ``pass`` and ``aws-vault`` do, a revealed secret is a deliberate act).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kutui.commands.common import add_json_flag

if TYPE_CHECKING:
    from kutui.model import Consumer

CONSUMER_SCHEMA = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "consumer",
        help="declare where a key's bots read it (consumers)",
        description="A key's consumers are the files, commands and people that use it. A "
        "rotation delivers the new key to every automatic consumer, checks it, and asks a "
        "person to switch the manual ones (README.md, 'Consumers').",
    )
    sub = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="declare a consumer of a key")
    add.add_argument("ref", metavar="REF")
    add.add_argument("--name", required=True, help="a name for it (unique per key)")
    add.add_argument(
        "--kind",
        required=True,
        choices=("envfile", "freqtrade", "passivbot", "ccxt-json", "command", "manual"),
    )
    add.add_argument("--path", default="", help="the file it reads (file kinds)")
    add.add_argument("--user", default="", help="passivbot: the user name in api-keys.json")
    add.add_argument(
        "--reload", default="", help="a command run after each delivery (no shell; no secrets)"
    )
    add.add_argument(
        "--command",
        default="",
        help="command kind: the command that gets the credentials as JSON on stdin",
    )
    add.add_argument(
        "--env-prefix",
        default="KUCOIN_API",
        help="envfile: names are PREFIX_KEY, PREFIX_SECRET, PREFIX_PASSPHRASE (default KUCOIN_API)",
    )
    add.set_defaults(func=run_add)
    lst = sub.add_parser("list", help="list consumers and their last delivery")
    lst.add_argument("ref", nargs="?", metavar="REF")
    add_json_flag(lst)
    lst.set_defaults(func=run_list)
    rm = sub.add_parser("remove", help="forget a consumer (its file is left as it is)")
    rm.add_argument("ref", metavar="REF")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(func=run_remove)

    deliver = subparsers.add_parser(
        "deliver",
        help="write a key's current credentials to its consumers",
        description="Write the key's CURRENT credentials to its automatic consumers (or the one "
        "named), read each back and run its reload command. Manual consumers are listed.",
    )
    deliver.add_argument("ref", metavar="REF")
    deliver.add_argument("--consumer", metavar="NAME", help="only this consumer")
    deliver.set_defaults(func=run_deliver)


def add_key_show(sub: Any) -> None:
    """``kutui key show`` (registered by ``kutui.commands.key``)."""
    show = sub.add_parser(
        "show",
        help="show a key's credentials (values hidden unless --reveal)",
        description="Show a key's stored credentials: its CURRENT key, or with --pending the new "
        "key of its open rotation (to switch a manual consumer). Values are hidden unless "
        "--reveal, which prints them only to a terminal unless --to-pipe is also given.",
    )
    show.add_argument("ref", metavar="REF")
    show.add_argument("--pending", action="store_true", help="the open rotation's new key")
    show.add_argument("--reveal", action="store_true", help="print the secret values")
    show.add_argument(
        "--to-pipe",
        action="store_true",
        help="with --reveal: print them even when stdout is not a terminal",
    )
    add_json_flag(show)
    show.set_defaults(func=run_key_show)


def consumer_json(consumer: Consumer, ref: str) -> dict[str, Any]:
    delivery = consumer.last_delivery
    return {
        "key": ref,
        "name": consumer.name,
        "kind": consumer.kind.value,
        "target": consumer.target,
        "user": consumer.user,
        "reload": consumer.reload,
        "env_prefix": consumer.env_prefix,
        "automatic": consumer.kind.automatic,
        "last_delivery": None
        if delivery is None
        else {
            "at": delivery.at,
            "fingerprint": delivery.fingerprint,
            "status": delivery.status.value,
            "detail": delivery.detail,
        },
    }


def run_add(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice
    from kutui.ops.consumers import add_consumer

    home = load_home(args)
    consumer = add_consumer(
        home,
        args.ref,
        name=args.name,
        kind=args.kind,
        path=args.path,
        user=args.user,
        reload=args.reload,
        command=args.command,
        env_prefix=args.env_prefix,
    )
    where = f" ({consumer.target})" if consumer.target else ""
    notice(f"{args.ref}: consumer {consumer.name} added, {consumer.kind}{where}")
    if consumer.kind.automatic:
        notice(f"write the current key there now with: kutui deliver {args.ref}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, print_json, print_table
    from kutui.ops.consumers import consumers_of
    from kutui.rotation.session import find_key

    home = load_home(args)
    keys = (
        [find_key(home, args.ref)]
        if args.ref
        else sorted(home.registry().keys, key=lambda k: k.ref)
    )
    rows = [(str(k.ref), c) for k in keys for c in consumers_of(home, k)]
    if args.json:
        print_json({"schema": CONSUMER_SCHEMA, "consumers": [consumer_json(c, r) for r, c in rows]})
        return 0
    if not rows:
        print("no consumers yet: add one with 'kutui consumer add REF --name N --kind K'")
        return 0
    table = []
    for ref, c in rows:
        d = c.last_delivery
        last = f"{d.status} …{d.fingerprint} {d.at:%Y-%m-%d %H:%M}" if d else "never"
        table.append((ref, c.name, str(c.kind), c.target or c.user or "-", last))
    print_table(("KEY", "CONSUMER", "KIND", "TARGET", "LAST DELIVERY"), table)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, notice
    from kutui.ops.consumers import remove_consumer

    home = load_home(args)
    removed = remove_consumer(home, args.ref, args.name)
    left = f"; {removed.target} is left as it is" if removed.kind.is_file else ""
    notice(f"{args.ref}: consumer {removed.name} removed{left}")
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    from kutui.commands.common import load_home, open_vault
    from kutui.ops.consumers import deliver_current

    home = load_home(args)
    vault = open_vault(args, home)
    results = deliver_current(home, vault, args.ref, args.consumer)
    failed = 0
    for item in results:
        c, d = item.consumer, item.delivery
        if d is None:
            print(f"- {c.name} (manual): switch it by hand (kutui key show {args.ref} --reveal)")
            continue
        ok = d.status.holds_key
        failed += not ok
        print(f"{'✓' if ok else '✗'} {c.name} ({c.kind}): {d.status} …{d.fingerprint}: {d.detail}")
    return 1 if failed else 0


def run_key_show(args: argparse.Namespace) -> int:
    import sys

    from kutui.commands.common import is_tty, load_home, open_vault, print_json
    from kutui.errors import UsageError
    from kutui.ops.consumers import slot_credential
    from kutui.rotation.session import find_key

    home = load_home(args)
    key = find_key(home, args.ref)
    if args.reveal and not args.to_pipe and not is_tty(sys.stdout):
        raise UsageError(
            "stdout is not a terminal: the values were not printed",
            hint="add --to-pipe to print them to a pipe or file on purpose",
        )
    vault = open_vault(args, home)
    cred = slot_credential(home, vault, args.ref, pending=args.pending)
    hidden = "(hidden; --reveal shows it)"
    shown = f"…{cred.api_key.reveal()[-4:]}"
    doc = {
        "ref": str(key.ref),
        "slot": "PENDING" if args.pending else "CURRENT",
        "fingerprint": cred.api_key.reveal()[-4:],
        "api_version": cred.api_version,
        "api_key": cred.api_key.reveal() if args.reveal else None,
        "api_secret": cred.api_secret.reveal() if args.reveal else None,
        "passphrase": cred.passphrase.reveal() if args.reveal else None,
    }
    if args.json:
        print_json(doc)
        return 0
    print(f"key:        {key.ref} ({doc['slot']}, version {cred.api_version})")
    print(f"api key:    {doc['api_key'] or shown}")
    print(f"api secret: {doc['api_secret'] or hidden}")
    print(f"passphrase: {doc['passphrase'] or hidden}")
    return 0
