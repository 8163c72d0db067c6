"""Rotation policy: a key older than ``rotation.max_key_age_days`` is due for rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kutui.model import ApiKey
from kutui.store.config import RotationConfig


@dataclass(frozen=True)
class Due:
    key_id: str
    age_days: int
    max_days: int

    @property
    def message(self) -> str:
        return f"key is {self.age_days} days old; rotate it (policy: at most {self.max_days} days)"


def rotation_due(key: ApiKey, policy: RotationConfig, now: datetime) -> Due | None:
    """``Due`` when the key's age (since created on KuCoin, else since added) passes the policy.

    A policy of 0 or less turns the check off; a key of unknown age is never reported due.
    """
    if policy.max_key_age_days <= 0:
        return None
    age = key.age(now)
    if age is None or age <= timedelta(days=policy.max_key_age_days):
        return None
    return Due(key.id, age.days, policy.max_key_age_days)


def keys_due(keys: list[ApiKey], policy: RotationConfig, now: datetime) -> list[Due]:
    return [due for key in keys if (due := rotation_due(key, policy, now)) is not None]
