"""Job history: the archive of every MapReduce job beside the metastore, and its web page."""
