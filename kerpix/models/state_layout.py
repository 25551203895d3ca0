"""Named entries of a flat sampling state.

A backbone's sampling state travels as one flat tuple of tensors: through
the compiled samplers' programs and as the `state_k` inputs and outputs of
the exported `sample_step` signatures. Inside the backbone the entries
have names: `StateLayout` maps the tuple to a dict and back, so a backbone
reads `state["block_1/link"]` instead of `state[3 * 1 + 2]`, and a layer's
own cache (a tuple of `cache_size` tensors) is one entry it alone reads.

    layout = StateLayout([("image", None), ("lstm_0", 3)])
    named = layout.unpack(state)   # {"image": t, "lstm_0": (t, t, t)}
    state = layout.pack(named)     # the flat tuple, in the layout's order
"""


class StateLayout:
    """Names of a flat state's entries, in order.

    `entries`: `(name, size)` pairs; `size` None is one tensor, an int `n`
    a group of `n` tensors (a layer's cache tuple).
    """

    def __init__(self, entries):
        self.entries = []
        for name, size in entries:
            if size is not None and (
                isinstance(size, bool) or not isinstance(size, int) or size < 0
            ):
                raise ValueError(
                    f"Invalid size for state entry {name!r}: expected None "
                    f"or an int >= 0. Received: {size!r}"
                )
            if any(name == known for known, _ in self.entries):
                raise ValueError(f"State entry {name!r} is declared twice.")
            self.entries.append((name, size))

    @property
    def names(self):
        return [name for name, _ in self.entries]

    def __len__(self):
        """The length of the flat tuple."""
        return sum(1 if size is None else size for _, size in self.entries)

    def flat_names(self):
        """One name per flat entry (`lstm_0/1` for a group's second)."""
        names = []
        for name, size in self.entries:
            if size is None:
                names.append(name)
            else:
                names.extend(f"{name}/{k}" for k in range(size))
        return names

    def unpack(self, state):
        """The flat tuple `state` as `{name: tensor or tuple}`."""
        state = tuple(state)
        if len(state) != len(self):
            raise ValueError(
                f"Expected a state of {len(self)} tensors "
                f"({', '.join(self.names)}). Received {len(state)}."
            )
        named, start = {}, 0
        for name, size in self.entries:
            if size is None:
                named[name] = state[start]
                start += 1
            else:
                named[name] = state[start : start + size]
                start += size
        return named

    def pack(self, named):
        """The flat tuple of `named` (every entry present, groups of their
        declared size)."""
        missing = [name for name in self.names if name not in named]
        unknown = [name for name in named if name not in self.names]
        if missing or unknown:
            raise ValueError(
                f"State entries do not match the layout: missing {missing}, "
                f"unknown {unknown}."
            )
        flat = []
        for name, size in self.entries:
            if size is None:
                flat.append(named[name])
                continue
            group = tuple(named[name])
            if len(group) != size:
                raise ValueError(
                    f"State entry {name!r} holds {size} tensors. "
                    f"Received {len(group)}."
                )
            flat.extend(group)
        return tuple(flat)
