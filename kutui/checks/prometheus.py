"""A check run as a node_exporter textfile-collector file (``kutui check --prometheus FILE``).

The text exposition format, version 0.0.4, with HELP and TYPE lines and no sample timestamps
(the collector stamps samples when Prometheus scrapes). Per key, labelled ``ref``, ``account``
and ``sub`` (empty for a master-account key):

- ``kutui_key_up``: 1 when the check said ``ok``, else 0;
- ``kutui_key_status``: one sample per status name (label ``status``), 1 for the key's status;
- ``kutui_key_expiry_timestamp_seconds``: when the key expires (keys that never expire, or of
  unknown creation time, have no sample);
- ``kutui_key_age_seconds``: since the key was created (else added to kutui);
- ``kutui_key_last_check_timestamp_seconds``: when it was checked.

Run totals: ``kutui_check_keys`` by status, ``kutui_check_duration_seconds`` and
``kutui_check_last_run_timestamp_seconds``. The file is replaced atomically (temp file, rename:
``kutui.store.files.atomic_publish``), mode 0644 so node_exporter can read it; it holds names and
statuses, never a secret. README.md, "Monitoring and alerts", has the alert rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from kutui.model import ApiKey, CheckResult, Status

PREFIX = "kutui_"

#: name -> (type, help), in the order written.
METRICS: dict[str, tuple[str, str]] = {
    "key_up": ("gauge", "1 when the key's last check was ok, else 0."),
    "key_status": ("gauge", "The key's check status: 1 for the status it has, 0 for the others."),
    "key_expiry_timestamp_seconds": (
        "gauge",
        "When the key expires (Unix time); no sample for keys that never expire.",
    ),
    "key_age_seconds": ("gauge", "Seconds since the key was created (else added to kutui)."),
    "key_last_check_timestamp_seconds": ("gauge", "When the key was last checked (Unix time)."),
    "check_keys": ("gauge", "Keys in the last run, by status."),
    "check_duration_seconds": ("gauge", "How long the last run took."),
    "check_last_run_timestamp_seconds": ("gauge", "When the last run finished (Unix time)."),
}


def _escape(value: str) -> str:
    """A label value as the exposition format wants it: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def render(
    rows: Sequence[tuple[ApiKey, CheckResult]], *, finished: datetime, duration_s: float
) -> str:
    """The textfile for one run. ``rows``' keys already carry what the run learned
    (``kutui.store.learn``): created time, hence expiry and age."""
    samples: dict[str, list[str]] = {name: [] for name in METRICS}
    for key, result in sorted(rows, key=lambda row: row[0].ref):
        labels = {"ref": str(key.ref), "account": key.ref.account, "sub": key.ref.sub}
        who = _labels(**labels)
        samples["key_up"].append(f"{who} {int(result.status is Status.OK)}")
        for status in Status:
            one = _labels(**labels, status=status.value)
            samples["key_status"].append(f"{one} {int(result.status is status)}")
        expires = key.expires_at()
        if expires is not None:
            samples["key_expiry_timestamp_seconds"].append(f"{who} {_number(expires.timestamp())}")
        age = key.age(finished)
        if age is not None:
            samples["key_age_seconds"].append(f"{who} {_number(age.total_seconds())}")
        samples["key_last_check_timestamp_seconds"].append(
            f"{who} {_number(result.checked_at.timestamp())}"
        )
    counts = Counter(result.status for _, result in rows)
    for status in Status:
        samples["check_keys"].append(f"{_labels(status=status.value)} {counts.get(status, 0)}")
    samples["check_duration_seconds"].append(f" {_number(round(duration_s, 3))}")
    samples["check_last_run_timestamp_seconds"].append(f" {_number(finished.timestamp())}")
    lines: list[str] = []
    for name, (kind, text) in METRICS.items():
        full = PREFIX + name
        lines.append(f"# HELP {full} {text}")
        lines.append(f"# TYPE {full} {kind}")
        lines.extend(full + sample for sample in samples[name])
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Replace ``path`` atomically; the collector reads only ``*.prom`` files, so the temp file
    (``.kutui-NAME.XXXX.part``) is never half-read."""
    from kutui.store.files import atomic_publish

    atomic_publish(path, text.encode("utf-8"))
