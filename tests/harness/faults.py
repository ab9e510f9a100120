"""Fault rules the harness applies in front of its real kubo node and in
front of the test doubles (doubles_common.py).

A rule: {"op": "pin/add" | "*", "action": ..., "count": N (omit: every call),
         "status": 500, "message": "...", "seconds": 3600, "after": false}

Actions:
  fail       answer with an error (HTTP `status`, `message`): a kubo error,
             or the error body of the double the rule is in front of
  hang       hold the request without answering for `seconds` (or until the
             faults are cleared), then drop the connection
  delay      wait `seconds`, then answer normally
  lie        answer success without doing the work (pin/add: the content ends
             up unpinned; pin/ls: claims a pin that may not exist)
  die_after  answer normally, then kill the whole node (SIGKILL)
  refuse_after  answer normally, then refuse connections (until accepted again)
  trickle    answer HTTP `status` with an error body that never ends: a byte
             every 0.2 s for `seconds` (or until the client hangs up), as a
             broken proxy or a dying node can (kubo harness only)

"after": true (with `fail` or `hang` only, and only where the owner of the
rules says so: the doubles built on doubles_common.DoubleServer; the kubo
harness refuses it as an unknown key): the request is handled first, its
effect applied and recorded, then its answer is replaced by the failure or
never sent (hang, then the connection is dropped). Without it the fault takes
the request's place and the request is not handled at all.

The first rule whose op matches and whose count is not used up applies.
"""

import threading

ACTIONS = {"fail", "hang", "delay", "lie", "die_after", "refuse_after", "trickle"}
AFTER_ACTIONS = {"fail", "hang"}


class Rule:
    def __init__(self, spec: dict, after_allowed: bool = False):
        keys = {"op", "action", "count", "status", "message", "seconds"} | ({"after"} if after_allowed else set())
        unknown = set(spec) - keys
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        self.op = spec.get("op", "*")
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise ValueError(f"fault action must be one of {sorted(ACTIONS)}, got {self.action!r}")
        self.remaining = spec.get("count")
        self.status = int(spec.get("status", 500))
        self.message = spec.get("message")
        self.seconds = float(spec.get("seconds", 3600 if self.action in ("hang", "trickle") else 1))
        self.after = spec.get("after", False)
        if not isinstance(self.after, bool):
            raise ValueError(f"fault key after must be true or false, got {self.after!r}")
        if self.after and self.action not in AFTER_ACTIONS:
            raise ValueError(f"after: true goes with the actions {sorted(AFTER_ACTIONS)}, not {self.action!r}")

    def matches(self, op: str) -> bool:
        return (self.op == "*" or self.op == op) and (self.remaining is None or self.remaining > 0)


class Faults:
    """`after_allowed`: whether rules may carry "after" (the owner applies it)."""

    def __init__(self, after_allowed: bool = False):
        self._after_allowed = after_allowed
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._released = threading.Event()

    def add(self, spec: dict) -> None:
        rule = Rule(spec, self._after_allowed)
        with self._lock:
            self._rules.append(rule)
            self._released.clear()

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._released.set()

    def take(self, op: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(op):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def wait_released(self, seconds: float) -> bool:
        """Waits up to `seconds`; True when the faults were cleared meanwhile."""
        return self._released.wait(seconds)
