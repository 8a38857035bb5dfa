"""SurroundYou on one machine, AWS replaced by moto: `python -m surroundyou_local` (what `make run` starts)."""
