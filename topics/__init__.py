"""The log: every topic declared once, and how to create, read, write and dead-letter them.

May import ``schemas`` only. Writers (producers, stream apps, the transcoder)
use ``topics.producer`` / ``topics.async_producer`` and ``topics.dead_letter``
from here, so nothing above needs to reach sideways for them.
"""
