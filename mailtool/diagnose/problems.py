"""A :class:`mailtool.policy.problems.Problem` as a finding: an error fails, a
warning warns; the RFC rule stays in what was observed, the fix names the fault."""

from __future__ import annotations

from mailtool.policy.problems import Problem

from .findings import Check, Finding, Status


def problem_finding(check: Check, problem: Problem, subject: str, reproduce: str = "") -> Finding:
    status = Status.FAIL if problem.is_error else Status.WARN
    fix = problem.fix or problem.message
    return check(status, str(problem), subject=subject, reproduce=reproduce, fix=fix)
