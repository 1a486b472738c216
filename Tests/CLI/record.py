#!/usr/bin/python3
"""Records what vgpuctl's command line answers before any command runs: the help of every
command (`--help`, `-h`, `help PATH`), the usage error of every command given an unknown option
or an option without its value, the groups' answers without a subcommand or with a wrong one,
and the root's own cases. Tests/VGPUCtlTests/CLISurfaceTests.swift runs the same arguments and
compares stdout, stderr and exit status byte for byte with Tests/CLI/surface.json.

    python3 Tests/CLI/record.py --bin PATH > Tests/CLI/surface.json

Re-record only when a change to the command line is meant (a new command, a new option, new
help text), and say so in the commit; a speed-up must leave the file unchanged.
"""
import json
import os
import subprocess
import sys

ARGS = sys.argv[1:]
if "--bin" not in ARGS:
    raise SystemExit("usage: record.py --bin PATH > surface.json")
BIN = ARGS[ARGS.index("--bin") + 1]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VGPUCTL_")}


def run(args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=ENV, cwd="/")
    return {"args": args, "status": p.returncode, "stdout": p.stdout, "stderr": p.stderr}


def paths():
    """Every command path of the tree, with whether it has subcommands."""
    tree = json.loads(subprocess.run([BIN, "--experimental-dump-help"], capture_output=True, text=True,
                                     env=ENV, check=True).stdout)
    out = []

    def walk(c, p):
        out.append((p, bool(c.get("subcommands"))))
        for s in c.get("subcommands", []):
            walk(s, p + [s["commandName"]])
    walk(tree["command"], [])
    return out


def cases():
    out = [[], ["--version"], ["bogus"], ["lis"], ["--root"], ["--root", "/nonexistent", "list", "--help"],
           ["--root=/nonexistent", "vf", "--help"], ["help", "bogus"], ["vgpu-dm", "--help"], ["vgpu-dm", "apply", "-h"],
           ["list", "--version"], ["vf", "enable", "--version"]]
    for p, group in paths():
        if p == ["help"]:
            continue
        out += [p + ["--help"], p + ["-h"], ["help"] + p, p + ["--no-such-option"]]
        if p:
            out.append(p + ["--root"])
        if group and p:
            out += [p, p + ["bogus"]]
    return out


print(json.dumps({"commands": [" ".join(p) for p, _ in paths()], "cases": [run(a) for a in cases()]}, indent=1))
