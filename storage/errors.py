"""Storage-level outcomes the layers above act on."""


class DuplicateMessage(Exception):
    """This inbound message was already stored: WeChat delivered it again."""
