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


def job_kind(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the runner of one kind of job."""

    def register(function: JobFunction) -> JobFunction:
        _JOB_KINDS[name] = function
        return function

    return register


def runner_for(kind: str) -> JobFunction:
    """The function that runs a kind of job."""
    from django.utils.module_loading import autodiscover_modules

    # Each app declares its job kinds in a jobs.py module, loaded on first use.
    autodiscover_modules("jobs")
    return _JOB_KINDS[kind]
