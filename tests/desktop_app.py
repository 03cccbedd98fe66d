"""A small Tk application for the desktop tests: `python tests/desktop_app.py STATE_DIR X Y`.

The window (undecorated, at screen px X, Y, 560 x 420) holds two buttons ("Cancel", "Save"), a
text entry, a label that opens a right-click menu ("Copy", "Rename", "Delete") and a listbox of
"Item 0" .. "Item 59" that scrolls. It records every event it receives as JSON lines in
STATE_DIR/events.jsonl (the button pressed, the entry's text, the menu item chosen, the list's first
visible item, each click with its screen px and the widget under it) and writes the widgets'
screen boxes (x, y, width, height in screen px) to STATE_DIR/geometry.json, updated when the menu
is posted (its items' boxes) and when the list scrolls.
"""

import json
import sys
import tkinter as tk
from pathlib import Path


def main(state_dir: str, x: int, y: int) -> None:
    state = Path(state_dir)
    events = (state / "events.jsonl").open("a", encoding="utf-8")
    root = tk.Tk()
    root.overrideredirect(True)
    root.geometry(f"560x420+{x}+{y}")
    geometry: dict = {}

    def record(kind, **data):
        events.write(json.dumps({"event": kind, **data}, ensure_ascii=False) + "\n")
        events.flush()

    def box(widget):
        return [widget.winfo_rootx(), widget.winfo_rooty(), widget.winfo_width(), widget.winfo_height()]

    def write_geometry():
        (state / "geometry.tmp").write_text(json.dumps(geometry, ensure_ascii=False))
        (state / "geometry.tmp").replace(state / "geometry.json")

    cancel = tk.Button(root, text="Cancel", command=lambda: record("button", name="Cancel"))
    save = tk.Button(root, text="Save", command=lambda: record("button", name="Save"))
    text = tk.StringVar()
    entry = tk.Entry(root, textvariable=text, width=40)
    text.trace_add("write", lambda *_: record("entry", text=text.get()))
    label = tk.Label(root, text="Right-click here", relief="groove", width=30, height=2)
    menu = tk.Menu(root, tearoff=0)
    for item in ("Copy", "Rename", "Delete"):
        menu.add_command(label=item, command=lambda item=item: record("menu", item=item))
    frame = tk.Frame(root)
    scrollbar = tk.Scrollbar(frame)
    listbox = tk.Listbox(frame, height=8, yscrollcommand=scrollbar.set, exportselection=False)
    scrollbar.config(command=listbox.yview)
    for i in range(60):
        listbox.insert("end", f"Item {i}")
    cancel.grid(row=0, column=0, padx=20, pady=20)
    save.grid(row=0, column=1, padx=20, pady=20)
    entry.grid(row=1, column=0, columnspan=2, padx=20, pady=10)
    label.grid(row=2, column=0, columnspan=2, pady=10)
    frame.grid(row=3, column=0, columnspan=2, pady=10)
    listbox.pack(side="left")
    scrollbar.pack(side="right", fill="y")

    def post_menu(event):
        menu.post(event.x_root, event.y_root)
        menu.update_idletasks()
        items = {}
        for index in range(menu.index("end") + 1):
            top = menu.yposition(index)
            bottom = menu.yposition(index + 1) if index < menu.index("end") else menu.winfo_reqheight()
            items[menu.entrycget(index, "label")] = [menu.winfo_rootx(), menu.winfo_rooty() + top,
                                                     menu.winfo_reqwidth(), bottom - top]
        geometry["menu"] = items
        write_geometry()
        record("menu_posted", x=event.x_root, y=event.y_root)

    label.bind("<Button-3>", post_menu)

    def on_scrolled(*_):
        first = listbox.nearest(0)
        geometry["list_first"] = first
        write_geometry()
        record("list", first=first)

    def on_click(event):
        record("click", x=event.x_root, y=event.y_root, button=event.num, widget=str(event.widget))

    root.bind_all("<ButtonPress>", on_click, add="+")
    listbox.bind("<Button-4>", lambda e: root.after(30, on_scrolled), add="+")
    listbox.bind("<Button-5>", lambda e: root.after(30, on_scrolled), add="+")

    def ready():
        root.update_idletasks()
        geometry.update({"Cancel": box(cancel), "Save": box(save), "entry": box(entry), "label": box(label),
                         "list": box(listbox), "list_first": listbox.nearest(0), "window": box(root)})
        write_geometry()
        record("ready")

    root.after(300, ready)
    root.mainloop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
