"""The results as a Markdown table: medians of the runs, dhitui next to the floor."""

from __future__ import annotations

from typing import Any

from bench.machine import summary
from bench.measure import Session, median


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:.0f} ms"


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def session_line(s: Session) -> str:
    parts = [f"paint {_ms(s.first_paint)}"]
    if s.classified is not None:
        parts.append(f"classified {_ms(s.classified)}")
    if s.idle_cpu is not None:
        parts.append(f"idle {s.idle_cpu:.2f} cpu-s ({s.idle_frames} frames)")
    parts.append(f"peak rss {_num(s.peak_rss_mb, '{:.1f}')} MB")
    if s.cursor_ms:
        parts.append(f"cursor {median(s.cursor_ms):.0f} ms")
    if s.filter_ms:
        parts.append(f"filter {median(s.filter_ms):.0f} ms (max {max(s.filter_ms):.0f})")
    return ", ".join(parts)


def _med(sessions: list[dict[str, Any]], key: str) -> float | None:
    return median([s[key] for s in sessions if s.get(key) is not None])


def _med_all(sessions: list[dict[str, Any]], key: str) -> float | None:
    """Median over every sample of every run (key-to-repaint lists)."""
    return median([x for s in sessions for x in s.get(key) or []])


def _max_all(sessions: list[dict[str, Any]], key: str) -> float | None:
    values = [x for s in sessions for x in s.get(key) or []]
    return max(values) if values else None


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def markdown(results: dict[str, Any]) -> str:
    sizes = list(results["sizes"])
    per = {n: results["sizes"][n] for n in sizes}
    apps = [a for a in ("dhitui", "baseline", "floor") if a in per[sizes[0]]["sessions"]]
    names = names_of = {"dhitui": "dhitui", "baseline": "before", "floor": "floor"}
    head = "| metric | " + " | ".join(
        " | ".join(f"N={n} {names[a]}" for a in apps) + f" | N={n} dhitui vs floor"
        for n in sizes) + " |"
    sep = "|---|" + ("---|" * (len(apps) + 1)) * len(sizes)
    rows: list[str] = []

    def sess(n: str, app: str) -> list[dict[str, Any]]:
        return list(per[n]["sessions"][app])

    def row(label: str, value: Any, compare: Any) -> None:
        cells = []
        for n in sizes:
            cells += [value(n, a) for a in apps] + [compare(n)]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    row("first painted list",
        lambda n, a: _ms(_med(sess(n, a), "first_paint")),
        lambda n: _ratio(_med(sess(n, "dhitui"), "first_paint"),
                         _med(sess(n, "floor"), "first_paint")))
    row("fully classified list (floor: its paint)",
        lambda n, a: _ms(_med(sess(n, a), "first_paint" if a == "floor" else "classified")),
        lambda n: _ratio(_med(sess(n, "dhitui"), "classified"),
                         _med(sess(n, "floor"), "first_paint")))
    row(f"idle CPU over {results['idle_seconds']:.0f} s",
        lambda n, a: _num(_med(sess(n, a), "idle_cpu")) + " s",
        lambda n: _diff(_med(sess(n, "dhitui"), "idle_cpu"),
                        _med(sess(n, "floor"), "idle_cpu"), "{:+.2f} s"))
    row("frames written while idle",
        lambda n, a: _num(_med(sess(n, a), "idle_frames"), "{:.0f}"), lambda n: "")
    row("peak RSS",
        lambda n, a: _num(_med(sess(n, a), "peak_rss_mb"), "{:.1f}") + " MB",
        lambda n: _diff(_med(sess(n, "dhitui"), "peak_rss_mb"),
                        _med(sess(n, "floor"), "peak_rss_mb"), "{:+.1f} MB"))
    for key, label in (("cursor_ms", "cursor down -> repaint"),
                       ("cursor_settled_ms", "cursor down -> last frame"),
                       ("filter_ms", "filter keystroke -> repaint"),
                       ("filter_settled_ms", "filter keystroke -> last frame")):
        if not any(_med_all(sess(n, a), key) is not None for n in sizes for a in apps):
            continue

        def keyed(n: str, a: str, key: str = key) -> str:
            m = _med_all(sess(n, a), key)
            return "-" if m is None else f"{m:.0f} ms (max {_max_all(sess(n, a), key):.0f})"

        row(label, keyed, lambda n, key=key: _ratio(_med_all(sess(n, "dhitui"), key),
                                                     _med_all(sess(n, "floor"), key)))

    cli_names = list(per[sizes[0]]["cli"])
    cli_rows = [f"| N={n} | " + " | ".join(
        f"{median(v) * 1000:.0f} ms" for v in per[n]["cli"].values()) + " |" for n in sizes]
    kinds = ["container list", "container inspect", "image inspect", "path stat",
             "archive read"]
    req_rows = []
    for n in sizes:
        r = per[n]["requests"]
        by = r["by_kind"]
        other = r["total"] - sum(by.get(k, 0) for k in kinds)
        req_rows.append(f"| N={n} ({r['containers']} containers, {r['images']} images) | "
                        + " | ".join(str(by.get(k, 0)) for k in kinds)
                        + f" | {other} | **{r['total']}** | {r.get('connections', '-')} | "
                        f"{r['seconds']:.2f} s |")
    load = results["machine"]
    loads = ", ".join(f"after N={n}: {load['load_after_' + n][0]:.2f}" for n in sizes
                      if "load_after_" + n in load)
    out = [
        f"Machine: {summary(results['machine'])}; 1-min load {loads}.",
        f"Medians of {results['runs']} launches per app and size, apps alternating; times "
        "from spawn, on a 160x48 pty read by a virtual terminal (pyte).",
        "",
        head, sep, *rows,
        "",
        "| wall time (median) | " + " | ".join(cli_names) + " |",
        "|---|" + "---|" * len(cli_names),
        *cli_rows,
        "",
        "| Engine API requests to classify | " + " | ".join(kinds)
        + " | other | total | connections | time |",
        "|---|" + "---|" * (len(kinds) + 4),
        *req_rows,
        "",
    ]
    shell_sizes = [n for n in sizes if per[n].get("shell")]
    if shell_sizes:
        names = list(per[shell_sizes[0]]["shell"])
        out += [
            # `enter` -> prompt has no ratio to the bare run: the bare run is timed from
            # spawn to its exit and removal, `enter` from the key to a prompt.
            "| time to a shell (median, max) | " + " | ".join(names) + " | debug vs bare |",
            "|---|" + "---|" * (len(names) + 1),
        ]
        for n in shell_sizes:
            sh = per[n]["shell"]
            bare = median(sh["bare docker run"])
            out.append(f"| N={n} | " + " | ".join(
                f"{median(v) * 1000:.0f} ms ({max(v) * 1000:.0f})" for v in sh.values())
                + f" | {_ratio(median(sh['dhitui debug -- true']), bare)} |")
        out.append("")
    failed = [f"N={n} {names_of.get(app, app)}: {s['failed']}" for n in sizes
              for app, runs in per[n]["sessions"].items() for s in runs if "failed" in s]
    if failed:
        out += ["Launches the harness could not read (left out of the medians):", "",
                *(f"- {line}" for line in failed), ""]
    return "\n".join(out)


def _diff(a: float | None, b: float | None, fmt: str) -> str:
    return "-" if a is None or b is None else fmt.format(a - b)
