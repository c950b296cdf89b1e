"""What every layer shares, on the standard library only.

Plain dataclasses and the error hierarchy, and the helpers several layers need alike: the
profile folder, TLS contexts and the connect skeleton of IMAP and SMTP, the abort switch,
crash-safe writes, the log file and problem report, and the search language's parser.
"""
