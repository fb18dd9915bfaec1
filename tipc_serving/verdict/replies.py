"""The pipeline replies a client printed, when the harness cannot judge the answers themselves: every
reply's err_no must be 0, and there must be at least one.

Clients of PaddlePaddle's repositories print replies their own way: `print(r.json())` gives a Python dict
(`{'err_no': 0, 'err_msg': '', 'key': [...], ...}`), a JSON dump gives `"err_no": 0`, and a printed gRPC
Response gives protobuf text (`err_no: 0`). Each `err_no` found is one reply.
"""
import re
from dataclasses import dataclass, field
from typing import List

ERR_NO = re.compile(r"""['"]?\berr_no\b['"]?\s*[:=]\s*(-?\d+)""")
ERR_MSG = re.compile(r"""['"]?\berr_msg\b['"]?\s*[:=]\s*(?:'([^']*)'|"([^"]*)")""")


@dataclass
class Replies:
    count: int = 0
    failed: List[str] = field(default_factory=list)   # "err_no 5: <err_msg>" of each reply that failed

    def problem(self):
        """Why the replies do not prove the chain works, or None."""
        if self.count == 0:
            return "no pipeline reply (no err_no) in the client's output"
        if self.failed:
            return "{} of {} replies failed: {}".format(len(self.failed), self.count, self.failed[0])
        return None

    def describe(self):
        return self.problem() or "{} repl{} with err_no 0".format(self.count, "y" if self.count == 1 else "ies")


def read_replies(text):
    """The replies in a client's output."""
    found = Replies()
    for line in text.splitlines():
        for match in ERR_NO.finditer(line):
            found.count += 1
            code = int(match.group(1))
            if code != 0:
                message = ERR_MSG.search(line, match.end())
                text_of = (message.group(1) or message.group(2)) if message else ""
                found.failed.append("err_no {}{}".format(code, ": " + text_of[:200] if text_of else ""))
    return found
