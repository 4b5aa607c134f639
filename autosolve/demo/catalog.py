"""The demo's repositories: their labels, people, history, and the issues that arrive.

Data only (:mod:`autosolve.demo.world` plays it). Each repository has a
history of open and closed issues from the past weeks, some with a
maintainer's comment, and a script of new issues, several of them close to
an old one (a second report of the same crash), so related issues and
possible duplicates have something to find.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "MAINTAINER_REMARKS", "DemoLabel", "DemoRepository", "Story"]


@dataclass(frozen=True)
class Story:
    """One issue of the script: who opens it, what it says, what happens to it."""

    title: str
    body: str
    author: str
    labels: tuple[str, ...] = ()
    closed: bool = False
    days_ago: float = 0.0
    """For the history: how long ago it was opened."""
    remark: str = ""
    """For the history: what a maintainer answered ("" = nobody did)."""
    pull_request: bool = False
    author_type: str = "User"


@dataclass(frozen=True)
class DemoLabel:
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class DemoRepository:
    owner: str
    name: str
    owner_type: str
    """``Organization``, or ``User`` for a personal repository (its owner comments as OWNER)."""
    labels: tuple[DemoLabel, ...]
    maintainers: tuple[str, ...]
    """Who answers issues: the owner, members of the owning organisation, collaborators."""
    collaborators: tuple[str, ...]
    history: tuple[Story, ...]
    arrivals: tuple[Story, ...]

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


_COMMON = (
    DemoLabel("bug", "d73a4a", "Something isn't working"),
    DemoLabel("documentation", "0075ca", "Improvements or additions to documentation"),
    DemoLabel("question", "d876e3", "Further information is requested"),
)

ROCKET = DemoRepository(
    owner="acme",
    name="rocket",
    owner_type="Organization",
    labels=(
        *_COMMON,
        DemoLabel("enhancement", "a2eeef", "New feature or request"),
        DemoLabel("area: cli", "1d76db", "The rocket command line"),
        DemoLabel("area: config", "5319e7", "rocket.toml and its validation"),
        DemoLabel("performance", "fbca04", "Slow or memory-hungry"),
        DemoLabel("windows", "bfdadc", "Only on Windows"),
    ),
    maintainers=("maria", "devon"),
    collaborators=(),
    history=(
        Story(
            "Crash when rocket.toml is empty",
            "Running `rocket deploy` in a directory with an empty rocket.toml ends with "
            "`KeyError: 'targets'`. Version 2.3.1 on Ubuntu 22.04.",
            "lee-wong", ("bug", "area: config"), closed=True, days_ago=40,
            remark="Fixed in 2.3.2: an empty file now says that no target is configured.",
        ),
        Story(
            "Add a --dry-run flag to deploy",
            "I would like to see what `rocket deploy` would upload without uploading it.",
            "jonas-b", ("enhancement", "area: cli"), closed=True, days_ago=35,
            remark="Shipped in 2.4.0.",
        ),
        Story(
            "Deploy is slow with many small files",
            "Uploading a site of 20,000 small files takes 15 minutes; rsync needs 40 seconds. "
            "Version 2.4.0.",
            "quinn", ("performance",), days_ago=20,
        ),
        Story(
            "Document the environment variables rocket reads",
            "The docs mention ROCKET_TOKEN but not the others the code reads.",
            "lucia-r", ("documentation",), days_ago=12,
        ),
        Story(
            "`rocket login` fails on Windows with a path error",
            "On Windows 11, `rocket login` fails with `FileNotFoundError` for "
            "`C:/Users/me/.rocket\\credentials`.",
            "kwame", ("bug", "windows"), closed=True, days_ago=9,
            remark="The credentials path is built with the right separator since 2.4.1.",
        ),
        Story(
            "How do I deploy to two targets at once?",
            "Is there a way to deploy the same build to staging and production in one run?",
            "ferris-fan", ("question",), days_ago=5,
            remark="List both in `targets = [...]` in rocket.toml; the docs have an example.",
        ),
        Story(
            "Config validation error does not say which key is wrong",
            "`rocket check` says `invalid configuration` but not which key.",
            "jonas-b", ("enhancement", "area: config"), days_ago=3,
        ),
    ),
    arrivals=(
        Story(
            "rocket deploy crashes with an empty config file",
            "Since upgrading to 2.5.0, `rocket deploy` with an empty rocket.toml prints a "
            "traceback ending in KeyError: 'targets' instead of an error message.",
            "tomasz",
        ),
        Story(
            "Support deploying to S3-compatible storage",
            "We host on MinIO. Could rocket deploy to any S3-compatible endpoint, with the "
            "endpoint URL in rocket.toml?",
            "amara-o",
        ),
        Story(
            "Deploy takes forever for a site with thousands of files",
            "A docs site with 12,000 files takes over ten minutes to deploy, most of it "
            "before the first upload starts.",
            "quinn",
        ),
        Story(
            "Bump requests from 2.31.0 to 2.32.3",
            "Bumps requests from 2.31.0 to 2.32.3.",
            "dependabot[bot]", pull_request=True, author_type="Bot",
        ),
        Story(
            "Typo in the README's install command",
            "The README says `pip install rocekt`.",
            "lucia-r",
        ),
    ),
)  # fmt: skip

LEDGER = DemoRepository(
    owner="acme",
    name="ledger",
    owner_type="Organization",
    labels=(
        *_COMMON,
        DemoLabel("enhancement", "a2eeef", "New feature or request"),
        DemoLabel("area: import", "c5def5", "Reading bank exports"),
        DemoLabel("area: reports", "0e8a16", "Monthly and yearly reports"),
        DemoLabel("good first issue", "7057ff", "Good for newcomers"),
        DemoLabel("performance", "fbca04", "Slow or memory-hungry"),
    ),
    maintainers=("priya", "maria"),
    collaborators=(),
    history=(
        Story(
            "CSV import fails on files with a byte order mark",
            "`ledger import bank.csv` fails with `KeyError: '\\ufeffdate'` when the CSV "
            "starts with a BOM, as Excel writes it.",
            "hanna", ("bug", "area: import"), closed=True, days_ago=50,
            remark="Fixed in 1.8: the importer reads utf-8-sig.",
        ),
        Story(
            "Monthly report totals are off by one cent",
            "The March report shows 1,204.31 but the transactions add up to 1,204.32.",
            "marco", ("bug", "area: reports"), days_ago=30,
        ),
        Story(
            "Add OFX import",
            "Most of our banks export OFX; importing it directly would save a conversion.",
            "hanna", ("enhancement", "area: import"), closed=True, days_ago=25,
            remark="Released in 1.9.",
        ),
        Story(
            "Explain the rounding rules in the docs",
            "Which rounding mode do reports use, and when?",
            "sofia-l", ("documentation",), days_ago=14,
        ),
        Story(
            "Report generation uses too much memory for large ledgers",
            "Rendering the yearly report of a 2 GB ledger needs 9 GB of memory.",
            "marco", ("performance", "area: reports"), days_ago=7,
        ),
    ),
    arrivals=(
        Story(
            "Importing a CSV exported from Excel fails",
            "A CSV saved by Excel fails to import with `KeyError: '\\ufeffdate'`. "
            "Version 1.9.2.",
            "oskar",
        ),
        Story(
            "Yearly report total differs by a cent from the sum of the months",
            "The 2024 yearly report total is one cent higher than the twelve monthly totals.",
            "marco",
        ),
        Story(
            "Add a JSON export for reports",
            "We feed reports into a dashboard; a JSON export would avoid parsing the PDF.",
            "yuki",
        ),
        Story(
            "Memory grows without bound when rendering a ten-year report",
            "Generating a report over ten years of transactions ends with the process killed "
            "for using too much memory.",
            "sofia-l",
        ),
    ),
)  # fmt: skip

NOTEBOOK = DemoRepository(
    owner="ada",
    name="notebook",
    owner_type="User",
    labels=(
        *_COMMON,
        DemoLabel("feature", "a2eeef", "A new capability"),
        DemoLabel("sync", "fef2c0", "Synchronisation between devices"),
        DemoLabel("ui", "bfd4f2", "The editor and its screens"),
    ),
    maintainers=("ada", "sam"),
    collaborators=("sam",),
    history=(
        Story(
            "Notes disappear after a sync conflict",
            "I edited a note on my phone and my laptop; after syncing, the laptop's "
            "changes were gone.",
            "rui", ("bug", "sync"), closed=True, days_ago=60,
            remark="Fixed: a conflict now keeps both versions side by side.",
        ),
        Story(
            "Dark mode",
            "The editor is very bright at night; a dark theme would help.",
            "mei", ("feature", "ui"), days_ago=20,
        ),
        Story(
            "Sync stalls after a day offline",
            "After a day without network the sync indicator spins forever.",
            "rui", ("bug", "sync"), days_ago=10,
        ),
        Story(
            "The keyboard shortcut list in the docs is incomplete",
            "Ctrl+Shift+K is missing from the list.",
            "noor", ("documentation",), closed=True, days_ago=6, remark="Added, thank you!",
        ),
    ),
    arrivals=(
        Story(
            "Edits made on two devices are lost after syncing",
            "I changed the same note on my tablet and my phone; after the sync only the "
            "phone's text is left.",
            "elif",
        ),
        Story(
            "Sync never resumes after the laptop wakes from sleep",
            "After the laptop sleeps overnight, sync stays stalled until I restart the app.",
            "noor",
        ),
        Story(
            "Add a dark theme for the editor",
            "Please add a dark mode: the white editor is hard on the eyes at night.",
            "mei",
        ),
        Story(
            "Search does not find words with accents",
            "Searching for `cafe` does not find notes containing `café`.",
            "elif",
        ),
    ),
)  # fmt: skip

CATALOG = (ROCKET, LEDGER, NOTEBOOK)
"""The demo's repositories, in the order their issues take turns."""

MAINTAINER_REMARKS = (
    "Thanks for the report! I can reproduce it on main.",
    "Thanks, this is useful. Could it be the same cause as an older report?",
    "Confirmed; a fix is planned for the next release.",
)
"""What maintainers say now and then on a new issue while the demo runs."""
