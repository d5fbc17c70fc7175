package org.diskplan.planner.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DescriptorEditTest {
    static final String VMWARE = "# Disk DescriptorFile\r\n"
            + "version=1\r\n"
            + "encoding=\"UTF-8\"\r\n"
            + "CID=fffffffe\r\n"
            + "parentCID=ffffffff\r\n"
            + "isNativeSnapshot=\"no\"\r\n"
            + "createType=\"twoGbMaxExtentFlat\"\r\n"
            + "\r\n"
            + "# Extent description\r\n"
            + "RW 4192256 FLAT \"disk-f001.vmdk\" 0\r\n"
            + "RW  2048   FLAT \"disk-f002.vmdk\" 0\r\n"
            + "\r\n"
            + "# The Disk Data Base \r\n"
            + "#DDB\r\n"
            + "\r\n"
            + "ddb.adapterType = \"lsilogic\"\r\n"
            + "ddb.geometry.cylinders = \"261\"\r\n"
            + "ddb.geometry.heads = \"255\"\r\n"
            + "ddb.geometry.sectors = \"63\"\r\n"
            + "ddb.longContentID = \"0123456789abcdef0123456789abcdef\"\r\n"
            + "ddb.uuid = \"60 00 C2 9b\"\r\n"
            + "ddb.virtualHWVersion = \"18\"";

    static final Map<String, String> DDB = Map.of("ddb.geometry.heads", "255", "ddb.geometry.sectors", "63");

    @Test
    void onlyTheOwnedNumbersChangeEveryOtherByteStays() {
        DescriptorEdit e = new DescriptorEdit(VMWARE);
        e.extentSectors(11, 4192256);
        e.insertAfter(11, "RW 1000 FLAT \"disk-f003.vmdk\" 0");
        assertThat(e.cylinders(10L << 30, DDB)).hasValue((10L << 30) / (255 * 63 * 512));
        assertThat(e.cid("1234abcd")).isTrue();
        String out = e.text();
        String expected = VMWARE.replace("CID=fffffffe\r\n", "CID=1234abcd\r\n")
                .replace("RW  2048   FLAT \"disk-f002.vmdk\" 0\r\n",
                        "RW  4192256   FLAT \"disk-f002.vmdk\" 0\r\nRW 1000 FLAT \"disk-f003.vmdk\" 0\r\n")
                .replace("cylinders = \"261\"", "cylinders = \"1305\"");
        assertThat(out).isEqualTo(expected);
        assertThat(out).contains("parentCID=ffffffff\r\n", "ddb.longContentID = \"0123456789abcdef0123456789abcdef\"",
                "ddb.virtualHWVersion = \"18\"");
        assertThat(out).endsWith("ddb.virtualHWVersion = \"18\"");
    }

    @Test
    void removeAndReplaceKeepTheLineEnding() {
        DescriptorEdit e = new DescriptorEdit("a\nRW 5 FLAT \"x\" 0\nRW 6 FLAT \"y\" 0\nz");
        e.remove(3).replaceLine(2, "RW 7 FLAT \"x\" 0");
        assertThat(e.text()).isEqualTo("a\nRW 7 FLAT \"x\" 0\nz");
        e.insertAfter(3, "tail");
        assertThat(e.text()).isEqualTo("a\nRW 7 FLAT \"x\" 0\nz\ntail\n");
    }

    @Test
    void cylindersAreLeftAloneWithoutGeometry() {
        DescriptorEdit e = new DescriptorEdit("ddb.geometry.cylinders = \"5\"\n");
        assertThat(e.cylinders(1L << 30, Map.of("ddb.geometry.heads", "16"))).isEmpty();
        assertThat(e.text()).isEqualTo("ddb.geometry.cylinders = \"5\"\n");
    }

    @Test
    void aLineThatIsNotAnExtentIsRefused() {
        DescriptorEdit e = new DescriptorEdit("version=1\n");
        assertThatThrownBy(() -> e.extentSectors(1, 5)).hasMessageContaining("line 1");
        assertThatThrownBy(() -> e.extentSectors(2, 5)).hasMessageContaining("no line 2");
    }

    @Test
    void theNewCidKeepsTheWidthAndIsNeverTheOldOneOrNone() {
        Random r = new Random(7);
        for (String old : List.of("61f334c", "fffffffe", "1", "zz")) {
            for (int i = 0; i < 2000; i++) {
                String cid = DescriptorEdit.newCid(old, r);
                assertThat(cid).matches("[0-9a-f]+").isNotEqualToIgnoringCase(old).isNotEqualTo("ffffffff");
                assertThat(cid.length()).isEqualTo(old.matches("[0-9a-f]+") ? old.length() : 8);
                assertThat(Long.parseLong(cid, 16)).isNotZero();
            }
        }
    }
}
