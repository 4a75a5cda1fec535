"""A review that runs past DBREVIEW_MAX_REVIEW_SECONDS stops holding its lease (issue #12: no review may outlive the
App's lease by hanging): the heartbeat stops renewing, so the job posts nothing and another worker may retry it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from bot.app.jobs import Heartbeat
from bot.app.settings import SettingsError, load_settings


@dataclass
class _Store:
    renewals: list[int] = field(default_factory=list)

    def renew(self, review_id: int, worker: str, lease_seconds: float) -> bool:
        self.renewals.append(review_id)
        return True


@dataclass
class _Runtime:
    settings: object
    store: _Store


def _settings(lease: float, cap: float):  # type: ignore[no-untyped-def]
    return load_settings({"DBREVIEW_WEBHOOK_SECRET": "s3cret", "GITHUB_TOKEN": "t",
                          "DBREVIEW_LEASE_SECONDS": str(lease), "DBREVIEW_MAX_REVIEW_SECONDS": str(cap)})


def test_the_lease_is_not_renewed_past_the_review_time_cap() -> None:
    store = _Store()
    with Heartbeat(_Runtime(_settings(0.3, 0.8), store), 7, "w1") as beat:  # type: ignore[arg-type]
        time.sleep(0.5)
        assert store.renewals and not beat.lost  # renewing while under the cap
        time.sleep(1.0)
        assert beat.lost
        renewed = len(store.renewals)
        time.sleep(0.4)
        assert len(store.renewals) == renewed  # and nothing after it


def test_the_cap_must_exceed_the_lease() -> None:
    with pytest.raises(SettingsError, match="DBREVIEW_MAX_REVIEW_SECONDS"):
        _settings(60, 30)
