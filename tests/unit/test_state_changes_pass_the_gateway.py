"""No code but the workflow gateway writes a lifecycle state.

A state written anywhere else would skip the compare-and-set, the history and the audit event.
Creating an object in its state is not a step and stays allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "competition"

GATEWAY = "workflow.py"
# The e-mail outbox leases deliveries with its own conditional updates; a delivery is not a
# lifecycle anyone acts on, and it writes no history.
EXEMPT = {GATEWAY, "notifications/operations.py"}


def state_writes(source: str) -> list[int]:
    """Line numbers where ``source`` writes a ``state`` column."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        while targets:
            target = targets.pop()
            if isinstance(target, (ast.Tuple, ast.List)):
                targets.extend(target.elts)
            elif isinstance(target, ast.Attribute) and target.attr == "state":
                lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg for k in node.keywords}
            if name in ("values", "update") and "state" in keywords:
                lines.append(node.lineno)
            if name == "setattr" and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value == "state":
                    lines.append(node.lineno)
    return lines


def test_only_the_gateway_writes_a_state():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in EXEMPT:
            continue
        for line in state_writes(path.read_text(encoding="utf-8")):
            offenders.append(f"competition/{relative}:{line}")
    assert offenders == [], "write the state through competition.workflow.apply_step"


def test_the_check_finds_each_way_of_writing_a_state():
    assert state_writes("proposal.state = 'funded'\n") == [1]
    assert state_writes("a.b.state += 1\n") == [1]
    assert state_writes("x, run.state = 1, 'done'\n") == [1]
    assert state_writes("counts[juror.state] += 1\n") == []
    assert state_writes("x = sa.update(Proposal).values(state='funded')\n") == [1]
    assert state_writes("setattr(proposal, 'state', 'funded')\n") == [1]
    assert state_writes("Proposal(state='draft')\nif p.state == 'draft': pass\n") == []
