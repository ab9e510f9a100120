"""Fault rules the harness applies in front of its real kubo node.

A rule: {"op": "pin/add" | "*", "action": ..., "count": N (omit: every call),
         "status": 500, "message": "...", "seconds": 3600}

Actions:
  fail       answer with a kubo error (HTTP `status`, `message`)
  hang       hold the request without answering for `seconds` (or until the
             faults are cleared), then drop the connection
  delay      wait `seconds`, then answer normally
  lie        answer success without doing the work (pin/add: the content ends
             up unpinned; pin/ls: claims a pin that may not exist)
  die_after  answer normally, then kill the whole node (SIGKILL)
  refuse_after  answer normally, then refuse connections (until accepted again)

The first rule whose op matches and whose count is not used up applies.
"""

import threading

ACTIONS = {"fail", "hang", "delay", "lie", "die_after", "refuse_after"}


class Rule:
    def __init__(self, spec: dict):
        unknown = set(spec) - {"op", "action", "count", "status", "message", "seconds"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        self.op = spec.get("op", "*")
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise ValueError(f"fault action must be one of {sorted(ACTIONS)}, got {self.action!r}")
        self.remaining = spec.get("count")
        self.status = int(spec.get("status", 500))
        self.message = spec.get("message")
        self.seconds = float(spec.get("seconds", 3600 if self.action == "hang" else 1))

    def matches(self, op: str) -> bool:
        return (self.op == "*" or self.op == op) and (self.remaining is None or self.remaining > 0)


class Faults:
    def __init__(self):
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._released = threading.Event()

    def add(self, spec: dict) -> None:
        rule = Rule(spec)
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

    def wait_released(self, seconds: float) -> None:
        self._released.wait(seconds)
