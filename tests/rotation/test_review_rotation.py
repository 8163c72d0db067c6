"""Review: a whitelist recorded by a health check is masked and must not seed a new key's."""

from __future__ import annotations

from dataclasses import replace

from kutui.rotation import session as rs
from kutui.rotation.checklist import StepStatus
from tests.rotation.world import World


async def test_a_masked_whitelist_seen_by_a_check_is_not_offered_as_the_new_keys(
    world: World,
) -> None:
    # What a health check records: KuCoin shows whitelists masked.
    key = replace(world.key(), ip_whitelist_seen="10.**.3")
    s = rs.start(world.context(), key)
    assert "**" not in s.checklist.ip_whitelist
    step = await s.run()
    assert step is not None and step.id == "plan" and step.status is StepStatus.FAILED
    # The user is asked for the full list, not told their own key's whitelist is not an IP.
    assert "masked" in step.note and "not an IP address" not in step.note
    s.set_ip_whitelist("10.1.2.3")
    step = await s.run()
    assert step is not None and step.id == "switch-consumers"


async def test_a_full_whitelist_from_the_registry_still_seeds_the_new_key(world: World) -> None:
    s = rs.start(world.context(), world.key())
    assert s.checklist.ip_whitelist == "10.1.2.3"


async def test_enter_in_the_ip_field_runs_the_plan_step(world: World) -> None:
    from textual.widgets import Input

    from kutui.model import Registry
    from tests.rotation.test_screen import host_for, settle, text_of

    def masked(registry: Registry) -> None:
        key = registry.key_by_id(world.key().id)
        assert key is not None
        key.ip_whitelist_seen = "10.**.3"

    world.home.update_registry(masked)
    app = host_for(world)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        ips = app.screen.query_one("#rot-ips", Input)
        assert ips.value == ""  # the masked list is not offered
        ips.focus()
        await pilot.press(*"10.1.2.3", "enter")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")


async def test_enter_in_the_passphrase_field_submits_the_new_master_key(world: World) -> None:
    from kutui.tui.screens.forms import SecretInput
    from tests.rotation.test_screen import host_for, settle, text_of, type_credentials
    from tests.rotation.world import MKEY_ID

    app = host_for(world, MKEY_ID)
    web = world.sim.add_key(1001, permission="General,Spot", passphrase="NewMasterPass-9")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("x")
        await settle(pilot)
        assert "web UI" in text_of(app, "#rot-step-title")
        await type_credentials(pilot, web.api_key, web.api_secret, "NewMasterPass-9")
        app.screen.query_one("#rot-passphrase", SecretInput).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "Switch consumers" in text_of(app, "#rot-step-title")
