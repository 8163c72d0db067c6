"""The two policies in README, "Teams", against a real server: an operator runs kutui with the
operator policy; a bot host with its policy reads its own key and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.openbao.conftest import MakeHome, Runner
from tests.openbao.server import DevServer
from tests.openbao.test_errors import child_token
from tests.openbao.test_shared import creds, stdin_for

README = Path(__file__).parents[2] / "README.md"


def policy(title: str, prefix: str) -> str:
    """The README's ```hcl block whose first line is ``# <title>``, for this test's prefix."""
    blocks = re.findall(r"```hcl\n(.*?)```", README.read_text(), flags=re.S)
    found: str
    (found,) = [str(b) for b in blocks if str(b).startswith(f"# {title}")]
    return found.replace("secret/data/kutui/", f"secret/data/{prefix}/").replace(
        "secret/metadata/kutui/", f"secret/metadata/{prefix}/"
    )


def token_for(server: DevServer, name: str, text: str) -> str:
    written = server.bao("policy", "write", name, "-", stdin=text)
    assert written.returncode == 0, written.stderr
    return child_token(server, name)


def test_operator_and_bot_host_policies(
    bao_server: DevServer, make_home: MakeHome, run: Runner, prefix: str
) -> None:
    operator_token = token_for(bao_server, f"op-{prefix}", policy("kutui operator", prefix))
    operator = make_home("operator", token=operator_token)
    init = run(operator, "init")
    assert init.code == 0, init.err
    for n, ref in enumerate(("main/admin", "main/bot1sub/grid", "main/bot1sub/other")):
        added = run(operator, "key", "add", ref, stdin=stdin_for(creds(n)))
        assert added.code == 0, added.err
    listed = run(operator, "key", "list")
    assert listed.code == 0 and "main/bot1sub/grid" in listed.out
    removed = run(operator, "key", "remove", "main/bot1sub/other", "--yes")
    assert removed.code == 0, removed.err

    bot = token_for(bao_server, f"bot-{prefix}", policy("kutui bot host", prefix))
    got = bao_server.bao(
        "kv", "get", "-format=json", f"secret/{prefix}/main/bot1sub/grid", token=bot
    )
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)["data"]["data"]
    assert (data["api_key"], data["api_secret"], data["passphrase"]) == creds(1)
    field = bao_server.bao(
        "kv", "get", "-field=api_secret", f"secret/{prefix}/main/bot1sub/grid", token=bot
    )
    assert field.stdout.strip() == creds(1)[1]
    for other in ("main/admin", "_kutui/registry", "main/bot1sub/grid/x"):
        denied = bao_server.bao("kv", "get", f"secret/{prefix}/{other}", token=bot)
        assert denied.returncode != 0 and "permission denied" in denied.stderr, other
    for write in (("kv", "put", f"secret/{prefix}/main/bot1sub/grid", "api_key=x"),):
        assert bao_server.bao(*write, token=bot).returncode != 0
    listing = bao_server.bao("kv", "list", f"secret/{prefix}/", token=bot)
    assert listing.returncode != 0
    # kutui itself with the bot's token: the registry is out of reach, one clear line.
    host = make_home("bot-host", token=bot)
    refused = run(host, "key", "list")
    assert refused.code == 2 and "policy does not allow" in refused.err
