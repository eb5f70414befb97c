"""The kinds of background job, each a function registered under a stable name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class JobContext:
    """What a running job is given: its row, and a way to report progress."""

    job: object
    report: Callable[[int, int, str], None]


JobFunction = Callable[[JobContext], dict]
_JOB_KINDS: dict[str, JobFunction] = {}
# The permission (accounts.permissions) a user needs to see a job of each kind: a job's page
# shows what the job read and changed, so only those who may do that work may follow it.
_JOB_PERMISSIONS: dict[str, str | None] = {}


def job_kind(name: str, *, permission: str | None = None) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the runner of one kind of job, seen by users with `permission`.

    A kind registered without a permission is seen only by the user who started the job.
    """

    def register(function: JobFunction) -> JobFunction:
        _JOB_KINDS[name] = function
        _JOB_PERMISSIONS[name] = permission
        return function

    return register


def _discover() -> None:
    from django.utils.module_loading import autodiscover_modules

    # Each app declares its job kinds in a jobs.py module, loaded on first use.
    autodiscover_modules("jobs")


def permission_for(kind: str) -> str | None:
    """The permission needed to see a job of this kind (None: only its creator sees it)."""
    _discover()
    return _JOB_PERMISSIONS.get(kind)


def runner_for(kind: str) -> JobFunction:
    """The function that runs a kind of job."""
    _discover()
    return _JOB_KINDS[kind]
