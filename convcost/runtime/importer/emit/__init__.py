"""IR -> spec: layers named after module paths, composites recognised exactly. Pure: no torch.

:mod:`.leaves` writes single ops (a conv with its BN and activation is one ``conv``),
:mod:`.blocks` proposes composite kinds and keeps one only when convcost's own expansion of
it reproduces the traced ops, :mod:`.layout` walks the module tree, and :mod:`.text` writes
the YAML. Two post-passes over the layer mappings follow: :mod:`.residual` writes a body
added to its module's input (or a shortcut) as a ``residual``, and :mod:`.templates` turns
repeated module classes into ``blocks:`` templates. A construct the spec cannot express
becomes an ``opaque`` layer.
"""
