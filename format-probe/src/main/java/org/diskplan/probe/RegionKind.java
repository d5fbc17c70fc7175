package org.diskplan.probe;

/** What a stretch of the file holds; the layout map colours by this. */
public enum RegionKind {
    HEADER("header"),
    TABLE("table"),
    REFCOUNT("refcount"),
    METADATA("metadata"),
    LOG("log"),
    DATA("data"),
    FREE("free"),
    FOOTER("footer");

    private final String jsonName;

    RegionKind(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }
}
