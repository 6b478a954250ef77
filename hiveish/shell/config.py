"""Shell configuration: the packaged, commented `hiveishrc` with the user's file over it.

The user file is `~/.config/hiveish/config` (`$XDG_CONFIG_HOME/hiveish/config` when
that is set). On first run the packaged file is copied there so every key is visible
and documented; afterwards both are read and the user's values win key by key, so a
new key added in a later release still gets its packaged default.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from hiveish.output import FORMATS

SECTION = "main"
PACKAGED_NAME = "hiveishrc"
KEY_BINDINGS = ("emacs", "vi")
KEYWORD_CASINGS = ("auto", "upper", "lower")
ENGINES = ("arrow", "mr", "auto")


@dataclass
class ShellConfig:
    """Typed values of the `[main]` section (defaults as in the packaged file)."""

    warehouse: str = ""
    metastore: str = ""
    engine: str = ""
    output_format: str = "table"
    auto_vertical: bool = True
    pager: str = "less -SRXF"
    row_limit: int = 1000
    timing: bool = True
    spinner_delay: float = 1.0
    key_bindings: str = "emacs"
    history_file: str = "~/.hiveish_history"
    syntax_style: str = "default"
    complete_while_typing: bool = True
    keyword_casing: str = "auto"
    auto_suggest: bool = True
    warnings: list[str] = field(default_factory=list)  # problems found while reading

    def items(self) -> list[tuple[str, str]]:
        """Key/value pairs as written in the file (for `help`)."""
        out = []
        for name in self.__dataclass_fields__:
            if name == "warnings":
                continue
            value = getattr(self, name)
            out.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
        return out


def packaged_text() -> str:
    """The packaged `hiveishrc` (a bare section if a build left it out: ShellConfig's defaults)."""
    try:
        return resources.files("hiveish.shell").joinpath(PACKAGED_NAME).read_text(encoding="utf-8")
    except OSError:
        return f"[{SECTION}]\n"


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "hiveish" / "config"


def ensure_user_config(path: Path | None = None) -> Path | None:
    """Copy the packaged file to the user's config path if nothing is there yet."""
    path = path or user_config_path()
    if path.exists():
        return path
    text = packaged_text()
    if text.strip() == f"[{SECTION}]":  # nothing worth copying
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


def read_config(user_path: Path | None = None, *, packaged: str | None = None) -> configparser.ConfigParser:
    """The packaged file with `user_path` merged over it (a missing user file is fine)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=None)
    parser.read_string(packaged if packaged is not None else packaged_text(), source=PACKAGED_NAME)
    if user_path is not None and user_path.exists():
        parser.read(user_path, encoding="utf-8")
    return parser


def load_config(user_path: Path | None = None, *, copy_default: bool = True,
                packaged: str | None = None) -> ShellConfig:
    """Read and check the configuration; bad values fall back to defaults with a warning."""
    config = ShellConfig()
    if user_path is None:
        user_path = ensure_user_config() if copy_default else user_config_path()
    try:
        parser = read_config(user_path, packaged=packaged)
    except (configparser.Error, OSError, UnicodeDecodeError) as e:
        config.warnings.append(f"cannot read {user_path}: {str(e).splitlines()[0]}; using defaults")
        parser = read_config(None, packaged=packaged)
    if not parser.has_section(SECTION):
        return config
    section = parser[SECTION]

    def text(key: str, choices: tuple[str, ...] | None = None) -> None:
        if key not in section:
            return
        value = section.get(key, "").strip()
        if choices is not None:
            value = value.lower()
            if value not in choices:
                config.warnings.append(f"{key} = {value!r} is not one of {', '.join(choices)}; "
                                       f"using {getattr(config, key)!r}")
                return
        setattr(config, key, value)

    def boolean(key: str) -> None:
        if key in section:
            try:
                setattr(config, key, section.getboolean(key))
            except ValueError:
                config.warnings.append(f"{key} = {section.get(key)!r} is not true or false")

    def number(key: str, kind: type) -> None:
        if key in section:
            try:
                value = kind(section.get(key).strip())
                if value < 0:
                    raise ValueError
                setattr(config, key, value)
            except ValueError:
                config.warnings.append(f"{key} = {section.get(key)!r} is not a non-negative number")

    for key in ("warehouse", "metastore", "pager", "history_file", "syntax_style"):
        text(key)
    text("engine", ("",) + ENGINES)
    text("output_format", FORMATS)
    text("key_bindings", KEY_BINDINGS)
    text("keyword_casing", KEYWORD_CASINGS)
    for key in ("auto_vertical", "timing", "complete_while_typing", "auto_suggest"):
        boolean(key)
    number("row_limit", int)
    number("spinner_delay", float)
    if config.pager.lower() in ("off", "none", "false", "no"):
        config.pager = ""
    return config

