"""CI installs and tests kgen as README.md tells a newcomer to, line for line."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section_commands(title: str) -> list[str]:
    """The command lines of README.md's `## title` section's bash blocks."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        lines += [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line]


def ci_commands() -> list[str]:
    script = (ROOT / ".ci" / "run").read_text()
    return [line.strip() for line in script.splitlines()]


def test_ci_runs_the_readme_install_lines_verbatim():
    installs = [line for line in section_commands("Install") if "pip install" in line]
    assert installs, "the Install section installs something"
    ci = ci_commands()
    for line in installs:
        assert line in ci, f".ci/run lacks README's {line!r}"
    # No install that README does not show (a pin would hide what users get).
    ci_installs = [
        line for line in ci if line.startswith(("pip install", "python -m pip"))
    ]
    assert ci_installs == installs


def test_ci_runs_the_readme_test_command():
    (test_command,) = [
        line
        for line in section_commands("Quickstart")
        if line.startswith("python tests/")
    ]
    assert test_command in ci_commands()
