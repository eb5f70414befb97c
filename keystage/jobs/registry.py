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
    """A kind of job: its runner, whether it may simply run again, and advice after a failure."""

    name: str
    run: JobFunction
    # True when a run killed half-way left nothing behind (one transaction, input kept until
    # it commits), so a job found stale is queued again instead of failed.
    retry_if_stale: bool = False
    after_failure: str = DEFAULT_AFTER_FAILURE


_JOB_KINDS: dict[str, JobSpec] = {}


def job_kind(
    name: str, *, retry_if_stale: bool = False, after_failure: str = DEFAULT_AFTER_FAILURE
) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the runner of one kind of job.

    A job's function returns a dict: "summary" (what was done, with counts), "url" (where to
    see it) and "done" (False when there was nothing to do; the page then says so).
    """

    def register(function: JobFunction) -> JobFunction:
        _JOB_KINDS[name] = JobSpec(name, function, retry_if_stale, after_failure)
        return function

    return register


def spec_for(kind: str) -> JobSpec:
    """The declaration of a kind of job."""
    from django.utils.module_loading import autodiscover_modules

    # Each app declares its job kinds in a jobs.py module, loaded on first use.
    autodiscover_modules("jobs")
    return _JOB_KINDS[kind]


def runner_for(kind: str) -> JobFunction:
    """The function that runs a kind of job."""
    return spec_for(kind).run
