"""One request pipeline for every model route: parse, route, admit, shape, dispatch, relay or reply, account."""
