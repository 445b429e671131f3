"""Documents -> clean text -> chunks -> vectors and a keyword index on disk; hybrid search."""
