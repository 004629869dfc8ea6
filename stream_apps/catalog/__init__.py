"""The catalog view: videos and their status, from the upload and transcode topics.

``projection`` (pure: one event applied to a row), ``builder`` (read, project,
write), ``agent`` (the Faust agent, dead-lettering what it cannot use),
``rebuild`` (a replay from offset 0 into a store).
"""
