"""What the HTTP benchmarks share: servers started side by side, wrk's figures, and rounds that interleave them.

Why rounds: on this kind of machine (2 shared cores) the same server measured a few minutes apart varies by
20-50%, so a ratio of two servers measured one after the other says as much about when each ran as about
the servers. Measured in turn, round after round (tandem, bare, tandem, bare…), each ratio is taken between
runs seconds apart, and the median of the rounds' ratios is what a target is held against; every round's
figures are printed beside it.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path


def wait_ready(port: int, process: subprocess.Popen[bytes], path: str = "/readyz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not become ready")


@contextmanager
def running(server: Server) -> Iterator[subprocess.Popen[bytes]]:
    env = {**server.env, "TANDEM_PORT": str(server.port)}
    with open(server.log_path, "wb") as log:
        process = subprocess.Popen(server.command, cwd=server.log_path.parent, env=env, stderr=log, stdout=log)
        try:
            wait_ready(server.port, process)
            yield process
        finally:
            process.terminate()
            process.wait(60)


@contextmanager
def running_all(servers: Sequence[Server]) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Every server started (each on its own port) and ready; all stopped afterwards."""
    with ExitStack() as stack:
        yield {server.name: stack.enter_context(running(server)) for server in servers}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and all its descendants still running (gunicorn: its workers)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += [int(child) for child in children]
    return total


@dataclass(frozen=True)
class Wrk:
    connections: int
    threads: int
    script: Path

    def run(self, url: str, requests_file: Path, duration: int, server: int | None = None) -> dict[str, Any]:
        """wrk's figures; with the server's pid, also the CPU time the server spent per request."""
        command = ["wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{duration}s", "--latency"]
        command += ["--timeout", "5s", "-s", str(self.script), url, "--", str(requests_file), str(self.threads)]
        cpu_before = cpu_seconds(server) if server else 0.0
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result = {**parse_wrk(output), "duration": float(duration), "load": os.getloadavg()[0]}
        if server:
            result["cpu_ms"] = 1000 * (cpu_seconds(server) - cpu_before) / max(1, result["requests"])
        return result


def parse_wrk(output: str) -> dict[str, Any]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    result: dict[str, Any] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        result[f"p{pct}_ms"] = ms(re.search(rf"\s{pct}(?:\.000)?%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = socket_errors.group(1).strip() if socket_errors else "none"
    return result


def interleaved(
    names: Sequence[str], rounds: int, measure: Callable[[str, int], dict[str, Any]], settle: float = 1.0
) -> dict[str, list[dict[str, Any]]]:
    """`measure(name, round)` for every name in turn, `rounds` times over: each name's results in order.
    `settle` seconds before each: what a server still does after its load (tandem stores the last events it
    answered) is not charged to the next one."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for number in range(rounds):
        for name in names:
            time.sleep(settle)
            results[name].append(measure(name, number))
    return results


def ratios(subject: Sequence[dict[str, Any]], yardstick: Sequence[dict[str, Any]]) -> list[float]:
    """The subject's throughput over the yardstick's, round by round."""
    return [mine["rps"] / theirs["rps"] for mine, theirs in zip(subject, yardstick, strict=True)]


def combined(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One server's rounds as one line: requests and errors summed, the worst p99, the median of the rest."""
    socket_errors = [r["socket_errors"] for r in results if r["socket_errors"] != "none"]
    summary: dict[str, Any] = {
        "requests": sum(r["requests"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
        "socket_errors": "; ".join(socket_errors) or "none",
        "duration": sum(r["duration"] for r in results),
    }
    for key in ("rps", "p50_ms", "p90_ms", "cpu_ms", "load"):
        summary[key] = statistics.median(r[key] for r in results)
    summary["p99_ms"] = max(r["p99_ms"] for r in results)
    return summary


def print_rounds(
    rounds: dict[str, list[dict[str, Any]]], names: dict[str, str], versus: str, round_ratios: Sequence[float]
) -> None:
    """Each server's figures round by round, tandem's ratio to `versus` in each, then each over the rounds."""
    width = max(len(name) for name in names.values())
    print("each round (in the order run, a round of every server before the next):")
    for key, results in rounds.items():
        cells = [f"{r['rps']:.0f} req/s, p99 {r['p99_ms']:.0f} ms, {r['cpu_ms']:.2f} ms CPU" for r in results]
        print(f"  {names[key]:{width}} " + " | ".join(cells))
    print(f"tandem / {versus}, round by round: {', '.join(f'{r:.2f}' for r in round_ratios)}")
    print("over the rounds (req/s, p50, p90, CPU, load: median; p99: worst round; requests: all):")
    for key, results in rounds.items():
        r = combined(results)
        print(
            f"{names[key]:{width}} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p90 {r['p90_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms  requests {r['requests']}  non-2xx {r['non_2xx']}  "
            f"socket errors {r['socket_errors']}  server CPU {r['cpu_ms']:.2f} ms/request  load {r['load']:.1f}"
        )
