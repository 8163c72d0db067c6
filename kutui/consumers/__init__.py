"""Delivering a key's credentials to its consumers (README.md, "Consumers").

``formats`` edits the files bots read (env files, freqtrade, passivbot and ccxt JSON) as text, in
memory; ``deliver`` writes them safely (``kutui.store.files``), reads them back, runs a reload
command or a ``command`` consumer, and records each outcome.
"""
