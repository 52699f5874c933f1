"""Pure: the people and teams of the synthetic organisation (the member directory and team settings).

Members come in team blocks (the first of a block is its manager), one team each: that keeps every
later array a slice or a repeat of this layout, with no per-person Python loop beyond names.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from jobs import demo_names as names
from jobs.demo_story import StoryParams

MIN_TEAM_SIZE = 6  # every team but the small one: k = 5 plus a little room for people not answering
ID_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
ID_DIGITS = 8
# A multiplier prime to 36 makes i -> (i * A + B) mod 36**8 a bijection: unique ids that look random.
ID_MULTIPLIER = 1_742_354_613_611  # about 0.618 of the space: neighbours land far apart
PULSE_WEEKDAYS = np.array([2, 2, 2, 3, 4])  # mostly Tuesday (the default), some Wednesday or Thursday


def slack_ids(prefix: str, count: int, salt: int) -> np.ndarray:
    """`count` distinct Slack-like ids (`U0A7K…`) for a prefix; `salt` varies them between organisations."""
    space = len(ID_ALPHABET) ** ID_DIGITS
    if count * ID_MULTIPLIER >= 2**63:
        raise ValueError(f"too many ids for one organisation: {count}")
    values = (np.arange(count, dtype=np.int64) * ID_MULTIPLIER + salt % space) % space
    digits = np.empty((count, ID_DIGITS), dtype=np.uint8)
    for position in range(ID_DIGITS - 1, -1, -1):
        values, digit = np.divmod(values, len(ID_ALPHABET))
        digits[:, position] = ID_ALPHABET[digit]
    body = digits.view(f"S{ID_DIGITS}").ravel().astype(str)
    return np.char.add(prefix, body)


def team_sizes(rng: np.random.Generator, members: int, teams: int, params: StoryParams) -> np.ndarray:
    """Sizes in team order: the crunch team first (and larger, so its story carries), the small team last."""
    if teams < 2:
        raise ValueError("the organisation needs at least two teams (the crunch team and the small one)")
    spare = members - params.small_team_size - (teams - 1) * MIN_TEAM_SIZE
    if spare < 0:
        raise ValueError(f"{members} members are too few for {teams} teams of at least {MIN_TEAM_SIZE}")
    weights = rng.lognormal(0.0, 0.35, teams - 1)
    weights[0] *= 1.6
    sizes = MIN_TEAM_SIZE + rng.multinomial(spare, weights / weights.sum())
    return np.append(sizes, params.small_team_size)


def _generated_names(rng: np.random.Generator, support: bool) -> Iterator[tuple[str, str | None]]:
    """Endless team names after the fixed ones: a shuffled product of parts, then numbered repeats."""
    places = [names.PLACES[i] for i in rng.permutation(len(names.PLACES))]
    if support:
        specialties = [names.SUPPORT_SPECIALTIES[i] for i in rng.permutation(len(names.SUPPORT_SPECIALTIES))]
        first = [(f"{s} Support {p}", r) for p, r in places for s in specialties]
        combos: list[tuple[str, str | None]] = [first[i] for i in rng.permutation(len(first))]
    else:
        pairs = [f"{a} {f}" for a in names.AREAS for f in names.FUNCTIONS]
        plain: list[tuple[str, str | None]] = [(pairs[i], None) for i in rng.permutation(len(pairs))]
        placed = [(f"{pair} {p}", r) for pair in pairs for p, r in places]
        combos = plain + [placed[i] for i in rng.permutation(len(placed))]
    yield from combos
    for number in itertools.count(2):
        yield from ((f"{name} {number}", region) for name, region in combos)


def team_names(rng: np.random.Generator, support_teams: int, other_teams: int) -> list[tuple[str, str | None]]:
    """(name, region or None) for the support teams, then the other stable ones, then the small team."""
    chosen: list[tuple[str, str | None]] = []
    taken = {names.SMALL_TEAM[0]}
    for count, fixed, support in (
        (support_teams, names.SUPPORT_TEAMS, True),
        (other_teams, names.OTHER_TEAMS, False),
    ):
        candidates = itertools.chain(fixed, _generated_names(rng, support))
        picked = 0
        while picked < count:
            name, region = next(candidates)
            if name not in taken:
                taken.add(name)
                chosen.append((name, region))
                picked += 1
    chosen.append(names.SMALL_TEAM)
    return chosen


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def people(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """Real names, Slack handles and work emails (unique: a second Maria Garcia becomes maria.garcia2)."""
    first = rng.choice(np.array(names.FIRST_NAMES, dtype=object), count)
    last = rng.choice(np.array(names.LAST_NAMES, dtype=object), count)
    handle = pd.Series([f"{_ascii(f)}.{_ascii(la).replace(chr(39), '')}" for f, la in zip(first, last, strict=True)])
    repeat = handle.groupby(handle).cumcount()
    handle = handle.where(repeat == 0, handle + (repeat + 1).astype(str))
    return pd.DataFrame({"name": handle, "real_name": first + " " + last, "email": handle + "@" + names.EMAIL_DOMAIN})


def zones(rng: np.random.Generator, regions: Sequence[str]) -> np.ndarray:
    """A time zone per person: mostly their team's region, 15% anywhere."""
    own = np.array([names.REGION_ZONES[r][rng.integers(2)] for r in regions], dtype=object)
    everywhere = np.array([z for zs in names.REGION_ZONES.values() for z in zs], dtype=object)
    return np.where(rng.random(len(regions)) < 0.85, own, rng.choice(everywhere, len(regions)))


def directory(
    rng: np.random.Generator, members: int, teams: int, support_share: float, k: int, params: StoryParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(members, teams) frames; row positions are the member and team numbers everything else refers to."""
    sizes = team_sizes(rng, members, teams, params)
    support_count = int(np.clip(round(support_share * teams), 1, teams - 1))
    named = team_names(rng, support_count, teams - 1 - support_count)
    regions = [region or names.REGIONS[rng.integers(len(names.REGIONS))] for _, region in named]
    team_of = np.repeat(np.arange(teams), sizes)
    frame = people(rng, members)
    salt = int(rng.integers(1 << 40))
    frame["slack_user_id"] = slack_ids("U", members, salt)
    frame["tz"] = zones(rng, [regions[t] for t in team_of])
    frame["team"] = team_of
    first_member = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    team_frame = pd.DataFrame(
        {
            "name": [name for name, _ in named],
            "region": regions,
            "support": np.arange(teams) < support_count,
            "size": sizes,
            "first_member": first_member,
            "k": k,
            "channel_id": slack_ids("C", teams, salt // 7),
            "manager_user_id": frame["slack_user_id"].to_numpy()[first_member],
            "pulse_weekday": rng.choice(PULSE_WEEKDAYS, teams),
        }
    )
    return frame[["slack_user_id", "name", "real_name", "email", "tz", "team"]], team_frame
