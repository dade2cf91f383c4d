"""Run folders: what ``stn.train`` writes (``folder``, ``lock``) and the tools that read
finished runs: the paper's tables (``report``, from ``paper``), the transformers' picture
(``figure``), dead ReLUs (``dead_units``), the distortions' damage (``survey``) and
deployment (``export``); ``run.Run`` is one run as they all see it."""
