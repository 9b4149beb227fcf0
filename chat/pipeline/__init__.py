"""The language pipeline: moderation (word lists, in-process at send time), language
detection (lingua, in Celery), translation (pluggable engines, in Celery).

Layout: ``moderation`` (pure: normalise and match), ``detection`` (pure: lingua),
``engines`` (translation engines behind one interface), ``languages`` (who reads which
language), ``payloads`` (the per-viewer message fields), ``services`` (the writers and
publishers the rest of Parley and the Celery tasks call). See docs/architecture.md,
"Language pipeline".
"""
