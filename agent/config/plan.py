"""[plan] and [[contacts]]: the one-page continuity sheet (`relais plan`, docs/plan.md). Declared like the other
sections (agent.config.schema). Every text is bounded: the sheet must stay one A4 page whatever is written here."""
from dataclasses import dataclass
from typing import Annotated

from agent.config.schema import Check, Invalid, NonEmpty, Pattern

MAX_STEPS = 7
MAX_EQUIPMENT = 4


def _text(most: int) -> Pattern:
    return Pattern(rf"[^\x00-\x1f\x7f]{{0,{most}}}", f"at most {most} characters without control characters")


def phone_number(text: str) -> bool:
    """A number someone dials from the sheet: "+33 4 72 00 00 00", "04 72 00 00 00", "3900" (a short code), "" = none.
    Digits with spaces, dots, dashes, brackets and one leading +; 3 to 15 digits (E.164's most)."""
    if not text:
        return True
    import re     # only for a config that writes numbers
    if not re.fullmatch(r"\+?[0-9 .\-()/]{1,30}", text):
        return False
    digits = sum(c.isdigit() for c in text)
    return 3 <= digits <= 15


PHONE = Check(phone_number, 'a phone number: digits, spaces, dots or dashes, an optional leading + ("+33 4 72 00 00 '
                            '00", "3900"), 3 to 15 digits')


@dataclass(frozen=True)
class ContactConfig:
    """One [[contacts]] table: whom to call when the Internet is cut, in the order of the escalation (the sheet
    lists them in this order)."""
    UNIQUE = ("name",)
    name: Annotated[str, NonEmpty(), _text(40)] = ""           # "Julien Martin"
    role: Annotated[str, _text(40)] = ""                        # "gérant", "prestataire informatique (MSP)"
    phone: Annotated[str, NonEmpty(), PHONE] = ""               # the number to dial, as printed on the sheet
    # when to call this one: "first", "if the fiber is still down after 4 h", "weekends"
    when: Annotated[str, _text(80)] = ""

    def validate(self) -> None:
        # a key left out is not checked by the loader: a contact without a name or a number is no contact
        for key in ("name", "phone"):
            if not getattr(self, key).strip():
                raise Invalid(f"a {key} for the contact", "none", key=key)


@dataclass(frozen=True)
class PlanConfig:
    """The continuity sheet (`relais plan`, docs/plan.md): what the people on site read when the Internet is cut."""
    # the router as people on site see it, used in the default steps: "the white box labelled RELAIS";
    # "" = "the box labelled relais" in the sheet's language
    router: Annotated[str, _text(60)] = ""
    # other equipment worth naming (the fiber box, the switch, the UPS): "Fiber box: Livebox Pro, in the cellar"
    equipment: Annotated[tuple[Annotated[str, NonEmpty(), _text(100)], ...],
                         Check(lambda t: len(t) <= MAX_EQUIPMENT, f"at most {MAX_EQUIPMENT} lines")] = ()
    # "what to do when the Internet is cut", numbered on the sheet, for someone who is not a technician; written
    # in one language, used as written; [] = the default steps in the sheet's language (docs/plan.md)
    steps: Annotated[tuple[Annotated[str, NonEmpty(), _text(160)], ...],
                     Check(lambda t: len(t) <= MAX_STEPS, f"at most {MAX_STEPS} steps")] = ()
