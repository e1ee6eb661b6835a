"""The board: server-rendered pages for operators, incident commanders and SRE leads."""
