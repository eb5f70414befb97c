"""GOV.UK date style for en-GB, overriding Django's locale ("2 Dec 2026, 3:04 p.m.")."""

DATE_FORMAT = "j F Y"  # 2 December 2026
DATETIME_FORMAT = r"j F Y \a\t H:i"  # fallback; pages use govuk_datetime ("at 3:04pm")
SHORT_DATE_FORMAT = "j F Y"
SHORT_DATETIME_FORMAT = r"j F Y \a\t H:i"
