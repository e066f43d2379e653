#!/usr/bin/python3
"""QuPath-style annotation files and their expected counts and areas, for annotations_test.

Writes into OUT: qupath.geojson (a FeatureCollection as QuPath 0.4 exports it: annotations with
holes, MultiPolygons, detections, points and a line, classifications with colours), the same
features as a plain array (qupath-array.geojson), and expected.json with the count per objectType
and each feature's area by the shoelace formula (outer ring minus holes), computed here in plain
Python — independently of GEOS, which Lucida uses.

Usage: make_annotation_reference.py OUT
"""
import json
import math
import os
import random
import sys


def shoelace(ring):
    s = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


def closed(ring):
    return [list(p) for p in ring] + [list(ring[0])]


def circle(cx, cy, r, n, clockwise=False):
    pts = [(cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n))
           for k in range(n)]
    return pts[::-1] if clockwise else pts


def polygon_area(rings):
    return shoelace(rings[0]) - sum(shoelace(h) for h in rings[1:])


def feature(fid, geometry, object_type, cls=None, name=None, locked=False):
    props = {"objectType": object_type, "isLocked": locked}
    if cls:
        props["classification"] = {"name": cls[0], "color": list(cls[1])}
    if name:
        props["name"] = name
    return {"type": "Feature", "id": fid, "geometry": geometry, "properties": props}


def main(out):
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(14)
    tumour, stroma = ("Tumor", (200, 0, 0)), ("Stroma", (150, 200, 150))
    features, areas = [], []
    # Annotations: a square with two holes, a MultiPolygon of a disc and a ring-shaped part.
    outer = [(1000, 1000), (5000, 1000), (5000, 4000), (1000, 4000)]
    holes = [[(1500, 1500), (2000, 1500), (2000, 2000), (1500, 2000)],
             circle(3500, 2500, 400, 48, clockwise=True)]
    features.append(feature("a-1", {"type": "Polygon",
                                    "coordinates": [closed(outer)] + [closed(h) for h in holes]},
                            "annotation", tumour, "square with holes"))
    areas.append(polygon_area([outer] + holes))
    disc = circle(8000, 8000, 700, 64)
    ring_outer = circle(12000, 8000, 900, 64)
    ring_hole = circle(12000, 8000, 300, 32, clockwise=True)
    features.append(feature("a-2", {"type": "MultiPolygon", "coordinates": [
        [closed(disc)], [closed(ring_outer), closed(ring_hole)]]}, "annotation", stroma,
        "two parts", locked=True))
    areas.append(polygon_area([disc]) + polygon_area([ring_outer, ring_hole]))
    # Detections (cells): 300 small irregular polygons.
    for k in range(300):
        cx, cy = rnd.uniform(0, 20000), rnd.uniform(0, 15000)
        n = rnd.randint(6, 14)
        ring = [(cx + rnd.uniform(8, 14) * math.cos(2 * math.pi * j / n),
                 cy + rnd.uniform(8, 14) * math.sin(2 * math.pi * j / n)) for j in range(n)]
        features.append(feature("d-%d" % k, {"type": "Polygon", "coordinates": [closed(ring)]},
                                "detection", tumour if k % 3 else stroma))
        areas.append(polygon_area([ring]))
    # A point, a multipoint and a line: no area.
    features.append(feature("p-1", {"type": "Point", "coordinates": [300.5, 400.25]},
                            "annotation", None, "a point"))
    features.append(feature("p-2", {"type": "MultiPoint",
                                    "coordinates": [[10, 10], [20, 20], [30, 40]]},
                            "annotation", tumour))
    features.append(feature("l-1", {"type": "LineString",
                                    "coordinates": [[0, 0], [300, 400], [300, 1000]]},
                            "annotation", None, "ruler"))
    areas += [0.0, 0.0, 0.0]

    with open(os.path.join(out, "qupath.geojson"), "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f)
    with open(os.path.join(out, "qupath-array.geojson"), "w") as f:
        json.dump(features, f)
    counts = {"annotation": sum(1 for x in features if x["properties"]["objectType"] == "annotation"),
              "detection": sum(1 for x in features if x["properties"]["objectType"] == "detection")}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"counts": counts, "areas": areas,
                   "ids": [x["id"] for x in features]}, f)


if __name__ == "__main__":
    main(sys.argv[1])
