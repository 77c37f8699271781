"""Intent and entity understanding for Sheli.

`nlu` imports nothing else of Sheli's: the bot builds a parser with `nlu.build_parser` and
hands it to the handlers, which only see the `Parser` protocol and `ParseResult`.
"""

from nlu.base import Entity, Parser, ParseResult
from nlu.factory import build_parser

__all__ = ["Entity", "ParseResult", "Parser", "build_parser"]
