"""What a delivery mode brings, in the words that confirm it (settings pages, mail commands).

The rules are ``mailbridge.notifications``' (its docstring): a member on a daily or weekly digest
still gets a mail for each mention and each reply in a thread they took part in; everything else
waits for the digest. Saying "weekly digest" alone made those mails look like a fault.
"""

from __future__ import annotations

from hub.i18n import N_
from hub.models import Delivery

CHOSEN: dict[str, str] = {
    Delivery.DAILY: N_(
        "You will get a daily digest, plus mail for mentions and for replies in threads you "
        "took part in."
    ),
    Delivery.WEEKLY: N_(
        "You will get a weekly digest, plus mail for mentions and for replies in threads you "
        "took part in."
    ),
}
