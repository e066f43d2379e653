// lucida-cli: headless entry point. Exit codes: 0 success, 1 bad input (file cannot be opened or
// read; the message names the file and the reason), 2 bad command line.
#include "CliInfo.h"

#include "image/ImageError.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"Lucida command line: inspect images (more commands to come)", "lucida-cli"};
    app.require_subcommand(1);

    std::string infoPath;
    bool infoJson = false;
    auto* info = app.add_subcommand("info", "Show what Lucida reads from an image or DICOM folder");
    info->add_option("IMAGE", infoPath, "image file or DICOM series folder")->required();
    info->add_flag("--json", infoJson, "print JSON");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        if (*info) return lucida::cli::runInfo(infoPath, infoJson, std::cout);
    } catch (const lucida::ImageError& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "lucida-cli: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
