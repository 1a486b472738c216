print("gsp-stub: not implemented yet")
