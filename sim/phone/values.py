"""Which values (names, texts, numbers, times) a seed's phone and tasks draw: the value split.

A policy that only works on values it saw in training has memorised them instead of reading
the instruction, so the evaluation must use values that never occur in training. The split is
by seed range, so any seed says which values it draws, and no list of "used" values is kept:

- **classic**, seeds [0, HELD_OUT_SEED0): the original pools (`CLASSIC`), unchanged since the
  first model; the demo's default tasks (seeds 1001-1002) and every older test live here, and
  the shipped model v1 trained on seeds 0-79 of it.
- **held-out**, seeds [HELD_OUT_SEED0, VARIED_SEED0): pools disjoint from every other regime
  (`HELD_OUT`), and numbers from ranges the others never draw: three-digit first operands, alarm
  minutes outside the classic set, phone area codes 10-19. Held-out evaluation seeds
  (`perception.train.recipe.EVAL_TASK_SEED0` = 500,000, the held-out screens at 1,000,000,
  `vlagent demo --all` at 2,000,000) are all here.
- **varied**, seeds [VARIED_SEED0, inf): training seeds with generated values (`generate`):
  names, words and phrases assembled from syllables and word lists that the held-out pools do
  not use (any generated value equal to a held-out one is drawn again), in Latin with
  diacritics, Cyrillic, Greek and CJK, and numbers of two or four digits. Values vary more
  than a model can memorise, so it has to copy them.

Launcher orders are shuffles of all apps in every regime: 16! orders, so a held-out seed's
order repeating a training one has probability below 1e-9 per pair (tests check the evaluation
seeds against the training seeds).

Written by hand: the split is a property of this simulator's own pools.
"""

from __future__ import annotations

import random
from typing import Literal

Regime = Literal["classic", "held_out", "varied"]

HELD_OUT_SEED0 = 500_000
VARIED_SEED0 = 5_000_000


def regime(seed: int) -> Regime:
    """The value regime of a phone or task seed (see the module docstring)."""
    if seed >= VARIED_SEED0:
        return "varied"
    return "held_out" if seed >= HELD_OUT_SEED0 else "classic"


class TaskRandom(random.Random):
    """A task's random source, which knows the value regime of the seed it was made for."""

    def __init__(self, key: str, seed: int):
        super().__init__(key)
        self.regime: Regime = regime(seed)


def regime_of(rng: random.Random) -> Regime:
    return getattr(rng, "regime", "classic")


CLASSIC: dict[str, tuple] = {
    "first_names": (
        "Alice", "Bob", "Carol", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam",
        "Mei", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Xavier",
        "Yara", "Zoe", "Amélie", "Björn", "Chloé", "Dörte", "Élodie", "François", "Jürgen", "Søren", "Łukasz", "Nuño",
    ),
    "last_names": (
        "Smith", "Jones", "García", "Müller", "Rossi", "Novák", "Kim", "Tanaka", "Silva", "Dubois", "Nowak",
        "Johansson", "Öztürk", "Ångström", "Brontë", "Čapek", "Ibáñez", "Løvland", "Papadopoulos", "Chen",
    ),
    "phone_note_titles": ("Groceries", "Ideas", "Packing list", "Books to read", "Gift ideas", "Recipes",
                          "Meeting notes", "Travel"),
    "phone_note_bodies": ("Milk, eggs, bread", "Try the new café", "Passport, charger", "Ask about the plan",
                          "Call the bank"),
    "plain_texts": ("on my way", "See you at 6", "Running late, sorry", "Call me back please", "Thanks!"),
    "unicode_texts": ("你好", "Grüße aus Köln 👋", "¿Qué tal?", "on my way 🚗", "Ça va? 😊", "Спасибо!"),
    "new_people": (("Zoë", "Ångström"), ("José", "Núñez"), ("Søren", "Ødegaard"), ("Łucja", "Wróbel"), ("美咲", "佐藤"),
                   ("Ngozi", "Okonjo-Iweala"), ("Björk", "Guðmundsdóttir")),
    "alarm_labels": ("Réveil", "Gym 🏋️", "早起き", "Müll rausbringen", "Café ☕", "Standup"),
    "note_titles": ("Einkaufsliste für Montag", "购物清单", "Idées 💡", "Übung", "Plan B", "Ideas for the trip", "Año nuevo"),
    "note_bodies": ("Milk, eggs and bread", "Book the train", "Ask Zoë about the café", "日本語のメモ", "Call mum 📞"),
    "sites": ("example.org", "wikipedia.org/wiki/Zürich", "python.org/downloads", "openstreetmap.org",
              "news.example.net/today"),
}

HELD_OUT: dict[str, tuple] = {
    "first_names": (
        "Aurelio", "Brigitte", "Cosmin", "Dagny", "Eero", "Fenna", "Gábor", "Hanne", "Ikaika", "Jovana", "Kofi",
        "Ludmila", "Matteo", "Nadia", "Oskar", "Priya", "Radek", "Sigrún", "Tomás", "Ulla", "Vikram", "Wiebke",
        "Yusuf", "Zdeněk", "Ãngela", "Bogdan", "Céline", "Dmitri", "Eleni", "Frode",
    ),
    "last_names": (
        "Albrecht", "Bianchi", "Castañeda", "Dvořák", "Esposito", "Fernández", "Gruber", "Horváth", "Ivanova",
        "Jokinen", "Kowalczyk", "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrović", "Quiroga", "Rasmussen",
    ),
    "phone_note_titles": ("Birthday plans", "Garden", "Car service", "Movie list", "Workout", "Budget",
                          "Wedding", "Homework"),
    "phone_note_bodies": ("Buy flour and sugar", "Water the tomatoes", "Tyres before winter", "Pay the rent",
                          "Renew the library card"),
    "plain_texts": ("Leaving the office now", "Dinner at eight?", "Got the tickets", "Happy new year!",
                    "Can you pick me up", "Meeting moved to 3pm", "Good luck today"),
    "unicode_texts": ("Bonne journée ☀️", "谢谢你", "Até amanhã!", "Хорошо, договорились", "Καλημέρα",
                      "Danke schön 🙏", "Miło cię widzieć"),
    "new_people": (("Åsa", "Bergström"), ("Renée", "Lefèvre"), ("Štěpán", "Kovář"), ("健太", "山田"),
                   ("Olumide", "Adeyemi"), ("Inés", "Mañero"), ("Gunnhild", "Sæther")),
    "alarm_labels": ("Medikamente 💊", "Réunion", "お弁当", "Pick up Lea", "Yoga 🧘", "Früh aufstehen"),
    "note_titles": ("Wochenplan", "旅行计划", "Recettes 🍲", "Ärzte", "Plan C", "Books for the summer", "Cumpleaños"),
    "note_bodies": ("Call the plumber", "Return the drill to Jörg", "Ölwechsel im März", "お土産を買う", "Pay the bill 💶"),
    "sites": ("mozilla.org/firefox", "wikipedia.org/wiki/Kraków", "gnu.org/software", "archive.org/web",
              "weather.example.com/oslo"),
}

# --- the varied regime's generator: syllables and words the held-out pools never use ----------
_SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vo", "shi", "bar", "nel", "du", "fa", "zor", "pe", "qui", "jan",
              "ri", "so", "tal", "wu", "xe", "yan", "bé", "lö", "ñu", "çi", "ør", "ža", "łe", "ið", "ãn")
_CYRILLIC = ("Ира", "Лев", "Мила", "Олег", "Зоя", "Тимур", "Ада", "Борис", "Сеня", "Глеб")
_GREEK = ("Άρης", "Ηλίας", "Νίκη", "Ζωή", "Φώτης", "Ιρις")
_CJK_NAMES = ("陽菜", "蓮", "翔太", "美月", "大翔", "王芳", "李娜", "陈杰", "张伟", "结衣")
_WORDS = ("apple", "river", "blue", "quick", "train", "seven", "window", "coffee", "yellow", "paper", "north",
          "garden", "lunch", "music", "later", "friday", "office", "bring", "jacket", "sunny", "ticket", "market",
          "Haus", "Straße", "grün", "schnell", "Käse", "morgen", "café", "été", "noël", "fête", "mañana", "niño",
          "jamón", "cidade", "pão", "kraj", "łódź", "żółw", "sötét", "fjord", "øl", "smørrebrød",
          "привет", "завтра", "дом", "море", "καφές", "θάλασσα", "東京", "朝ご飯", "電車", "北京", "咖啡", "学校")
_EMOJI = ("🙂", "🎉", "🚲", "📦", "🌧️", "🍕", "⚽", "🎵", "❤️", "🔥")
_PUNCT = ("", "", "", "!", "?", ".", ",", "...", " :)")
_TLDS = ("org", "com", "net", "io", "de", "fr")

_HELD_OUT_VALUES = {v if isinstance(v, str) else " ".join(v) for pool in HELD_OUT.values() for v in pool}
_HELD_OUT_PARTS = {p for pool in ("first_names", "last_names") for p in HELD_OUT[pool]}


def _name_part(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.12:
        return rng.choice(_CYRILLIC)
    if kind < 0.18:
        return rng.choice(_GREEK)
    if kind < 0.26:
        return rng.choice(_CJK_NAMES)
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _phrase(rng: random.Random, words: tuple[int, int] = (1, 4)) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(*words)))
    if rng.random() < 0.3:
        text = text[:1].upper() + text[1:]
    text += rng.choice(_PUNCT)
    if rng.random() < 0.15:
        text += " " + rng.choice(_EMOJI)
    return text


def _generated(pool: str, rng: random.Random):
    if pool in ("first_names", "last_names"):
        return _name_part(rng)
    if pool == "new_people":
        return (_name_part(rng), _name_part(rng))
    if pool in ("phone_note_titles", "note_titles", "alarm_labels"):
        return _phrase(rng, (1, 3)).rstrip("!?.,: )")
    if pool in ("plain_texts", "unicode_texts", "phone_note_bodies", "note_bodies"):
        return _phrase(rng)
    if pool == "sites":
        site = f"{rng.choice(_WORDS[:22])}{rng.choice(_SYLLABLES[:20])}.{rng.choice(_TLDS)}"
        return site + (f"/{rng.choice(_WORDS[:22])}" if rng.random() < 0.5 else "")
    raise KeyError(pool)


def is_held_out(text: str) -> bool:
    """Whether `text` is a held-out value, or has a held-out first or last name as one of its words."""
    return text in _HELD_OUT_VALUES or bool(set(text.split()) & _HELD_OUT_PARTS)


def generate(pool: str, rng: random.Random):
    """A generated value for `pool` that is no held-out value (the varied regime's values)."""
    while True:
        value = _generated(pool, rng)
        flat = value if isinstance(value, str) else " ".join(value)
        parts = {value} if isinstance(value, str) else set(value)
        if flat not in _HELD_OUT_VALUES and not parts & _HELD_OUT_PARTS:
            return value


def choose(rng: random.Random, pool: str, regime_name: Regime | None = None, classic_share: float = 0.25):
    """One value of `pool` for the regime of `rng` (a `TaskRandom`) or `regime_name`: classic and
    held-out draw from their pool; varied draws the classic pool with `classic_share`, else
    a generated value."""
    which = regime_name or regime_of(rng)
    if which == "held_out":
        return rng.choice(HELD_OUT[pool])
    if which == "varied" and rng.random() >= classic_share:
        return generate(pool, rng)
    return rng.choice(CLASSIC[pool])


def sample(rng: random.Random, pool: str, k: int, regime_name: Regime) -> list:
    """`k` distinct values of `pool` (names on one phone, its notes' titles)."""
    if regime_name == "held_out":
        return rng.sample(HELD_OUT[pool], k)
    if regime_name == "classic":
        return rng.sample(CLASSIC[pool], k)
    out: list = []
    while len(out) < k:
        value = choose(rng, pool, "varied", classic_share=0.3)
        if value not in out:
            out.append(value)
    return out


# --- numbers ------------------------------------------------------------------------------
CLASSIC_MINUTES = (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 7, 42)
HELD_OUT_MINUTES = (3, 18, 26, 33, 51, 59)
VARIED_MINUTES = tuple(m for m in range(60) if m not in HELD_OUT_MINUTES)


def alarm_minute(rng: random.Random) -> int:
    which = regime_of(rng)
    pool = {"classic": CLASSIC_MINUTES, "held_out": HELD_OUT_MINUTES, "varied": VARIED_MINUTES}[which]
    return rng.choice(pool)


def operand(rng: random.Random, low: int, high: int) -> int:
    """A calculator operand: classic [low, high]; held-out three digits (100-999), a range no
    other regime draws; varied two digits (`low`-99) or four (1000-9999)."""
    which = regime_of(rng)
    if which == "held_out":
        return rng.randint(100, 999)
    if which == "varied" and rng.random() < 0.3:
        return rng.randint(1000, 9999)
    return rng.randint(low, high) if which == "classic" else rng.randint(low, 99)


def area_code(rng: random.Random, which: Regime) -> int:
    """The two-digit group after the country code: 10-19 only in the held-out regime."""
    return rng.randint(10, 19) if which == "held_out" else rng.randint(20, 99)
