"""Shared helpers of the scenario scripts: run vgpuctl against a root, record checks."""
import json
import subprocess
import sys


class Scenario:
    def __init__(self, vgpuctl, root):
        self.vgpuctl = vgpuctl
        self.root = root
        self.failures = 0

    def run(self, *args, timeout=180):
        """Runs `vgpuctl --root ROOT ARGS...`; returns (exit status, stdout, stderr)."""
        p = subprocess.run([self.vgpuctl, "--root", self.root, *args], capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def check(self, cond, what, detail=""):
        """Prints `ok - WHAT` or `not ok - WHAT DETAIL` and counts failures."""
        print(("ok - " if cond else "not ok - ") + what + ("" if cond else f" {detail}"), flush=True)
        if not cond:
            self.failures += 1

    def finish(self):
        """Prints the summary line the tests look for and exits 1 on any failure."""
        print(f"{'FAIL' if self.failures else 'PASS'}: {self.failures} failed")
        sys.exit(1 if self.failures else 0)


class QMP:
    """A QEMU started with `-qmp stdio`, spoken to over its pipes."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.greeting = self.read()

    def read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("QEMU closed QMP: " + self.p.stderr.read())
        return json.loads(line)

    def execute(self, cmd, **arguments):
        msg = {"execute": cmd}
        if arguments:
            msg["arguments"] = arguments
        self.p.stdin.write(json.dumps(msg) + "\n")
        self.p.stdin.flush()
        while True:
            r = self.read()
            if "return" in r or "error" in r:
                return r
