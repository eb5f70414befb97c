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

DEFAULT_AFTER_FAILURE = "Correct what the message says, then start the job again."


@dataclass(frozen=True)
class JobSpec:
    """A kind of job: its runner, who may follow it, whether it may run again, advice on failure."""

    name: str
    run: JobFunction
    # The permission (accounts.permissions) a user needs to see a job of this kind: a job's page
    # shows what the job read and changed, so only those who may do that work may follow it.
    # None: only the user who started the job sees it.
    permission: str | None = None
    # True when a run killed half-way left nothing behind (one transaction, input kept until
    # it commits), so a job found stale is queued again instead of failed.
    retry_if_stale: bool = False
    after_failure: str = DEFAULT_AFTER_FAILURE


_JOB_KINDS: dict[str, JobSpec] = {}


def job_kind(
    name: str,
    *,
    permission: str | None = None,
    retry_if_stale: bool = False,
    after_failure: str = DEFAULT_AFTER_FAILURE,
) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the runner of one kind of job, seen by users with `permission`.

    A job's function returns a dict: "summary" (what was done, with counts), "url" (where to
    see it) and "done" (False when there was nothing to do; the page then says so).
    """

    def register(function: JobFunction) -> JobFunction:
        _JOB_KINDS[name] = JobSpec(name, function, permission, retry_if_stale, after_failure)
        return function

    return register


def _discover() -> None:
    from django.utils.module_loading import autodiscover_modules

    # Each app declares its job kinds in a jobs.py module, loaded on first use.
    autodiscover_modules("jobs")


def spec_for(kind: str) -> JobSpec:
    """The declaration of a kind of job."""
    _discover()
    return _JOB_KINDS[kind]


def permission_for(kind: str) -> str | None:
    """The permission needed to see a job of this kind (None: only its creator sees it)."""
    _discover()
    spec = _JOB_KINDS.get(kind)
    return spec.permission if spec else None


def runner_for(kind: str) -> JobFunction:
    """The function that runs a kind of job."""
    return spec_for(kind).run
